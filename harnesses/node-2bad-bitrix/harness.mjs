#!/usr/bin/env node
// node-2bad-bitrix: the Bitrix24 REST client @2bad/bitrix, wrapped as a protocol-1 harness
// (docs/harness-protocol.md). The suite starts it once per run:
//
//   b24-conformance run --client "cmd:node harnesses/node-2bad-bitrix/harness.mjs" --mode portal
//
// The harness translates and never judges. Each call is the client's own `call(method, params)`
// (a GET through got 11, queued by p-queue at 2 requests a second, params encoded by qs), and
// the outcome is built only from what that promise gives an application: the payload it
// resolves to, or the error it rejects with. The client itself throws a plain Error that holds
// only the error code's text (`[call] failed to get the resource: CODE.`) for an envelope with
// a truthy `error`, and passes got's own errors (HTTPError, ParseError, TimeoutError, ...)
// through untouched for everything else. The client never reads the body of a non-2xx answer,
// but got's HTTPError keeps it (error.response.body) for the application, and the harness reads
// it there: the envelope's code and description, or which kind of body it was.
//
// stdout carries protocol messages only; stderr is the log, with every secret replaced by ***.

import fs from "node:fs";
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(import.meta.url);
const { Bitrix } = require("@2bad/bitrix");
// The got instance the client itself runs on (its own dependency, resolved from the client's
// directory): its error classes are the ones the client's promises reject with.
const got = createRequire(require.resolve("@2bad/bitrix"))("got");

const PROTOCOL = 1;
const NAME = "2bad-bitrix";
const VERSION = require("@2bad/bitrix/package.json").version;
// status: got's errors carry error.response.statusCode; time and total: the resolved payload is
// the whole envelope; retry: got retries a GET on 429 and 503 (among others) by default, and the
// client keeps got's defaults; oauth: Bitrix(restURI, accessToken) takes an access token.
const CAPABILITIES = ["status", "time", "total", "retry", "oauth"];

// The text the client's handlePayload puts around the code (client/methods/call.js).
const CALL_ERROR = /^\[call\] failed to get the resource: ([\s\S]*)\.$/;

// The client's text goes out raw: redacting here would hide the very leak the suite looks for.
// The suite redacts everything it writes itself (docs/harness-protocol.md, "Secrets and stderr").

/** The harness's log: stderr, never stdout (stdout carries protocol messages only). */
function log(text) {
  process.stderr.write(`node-2bad-bitrix: ${String(text).replaceAll("\n", " | ")}\n`);
}

// Nothing may reach stdout but protocol messages: console.* of any library goes to the log.
for (const name of ["log", "info", "debug", "warn", "error", "trace"]) {
  console[name] = (...args) => log(args.map((a) => (typeof a === "string" ? a : safeJson(a))).join(" "));
}

function safeJson(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function send(message) {
  // JSON.stringify escapes newlines, so a message is always one line; non-ASCII is escaped too.
  const line = JSON.stringify(message).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  process.stdout.write(`${line}\n`);
}

function oneLine(text) {
  return String(text).split(/\r?\n/).filter((l) => l.trim() !== "").join(" | ");
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

class Client {
  constructor(target) {
    // The client's third argument is merged over its own got options: only the timeout and the
    // portal's CA are set here, never its retry, hooks or response type.
    const options = { timeout: Math.max(1, Math.round(Number(target.timeout) * 1000)) };
    if (target.ca_bundle) {
      options.https = { certificateAuthority: fs.readFileSync(target.ca_bundle) };
    }
    // Webhook: the REST URI is the webhook base. OAuth: the portal's REST base plus the token,
    // which the client's beforeRequest hook is meant to append as ?access_token=.
    this.bitrix = target.auth_token
      ? Bitrix(`${target.portal_url}rest/`, target.auth_token, options)
      : Bitrix(target.base_url, undefined, options);
  }

  async call(method, params) {
    let payload;
    try {
      payload = await this.bitrix.call(method, params);
    } catch (error) {
      return fromError(error, method);
    }
    if (!isObject(payload)) {
      // got parses an empty 2xx body to "" and the client resolves with it: a success to the
      // application, with nothing in it.
      log(`${method}: the client resolved with ${safeJson(payload)} (not an object); result sent as null`);
      return { outcome: "success", result: null, time: null, total: null };
    }
    log(`${method}: success`);
    return {
      outcome: "success",
      result: payload.result === undefined ? null : payload.result,
      time: isObject(payload.time) ? payload.time : null,
      total: Number.isInteger(payload.total) ? payload.total : null,
    };
  }
}

function statusOf(error) {
  const status = error?.response?.statusCode;
  return Number.isInteger(status) && status >= 100 && status <= 599 ? status : null;
}

/** A got HTTPError, read through the response it keeps: the envelope's code, or no envelope. */
function fromHttpError(error, method) {
  const status = statusOf(error);
  const raw = error?.response?.body;
  const text = typeof raw === "string" ? raw : Buffer.isBuffer(raw) ? raw.toString("utf8") : "";
  let body = raw !== null && typeof raw === "object" && !Buffer.isBuffer(raw) ? raw : undefined;
  try {
    body ??= JSON.parse(text);
  } catch {
    const kind = text.trim() === "" ? "empty-body" : "non-json";
    log(`${method}: got HTTPError ${error.message}, body not JSON -> transport-failure ${kind}`);
    return { outcome: "transport-failure", kind, detail: oneLine(error.message), status };
  }
  if (isObject(body) && (typeof body.error === "string" || Number.isInteger(body.error))) {
    const description = typeof body.error_description === "string" ? body.error_description : null;
    log(`${method}: got HTTPError ${error.message}, envelope error -> api-error ${safeJson(body.error)}`);
    return { outcome: "api-error", code: body.error, description, status };
  }
  log(`${method}: got HTTPError ${error.message}, JSON without an error -> transport-failure bad-envelope`);
  return { outcome: "transport-failure", kind: "bad-envelope", detail: oneLine(error.message), status };
}

/** Map what the client's promise rejected with to an outcome, or rethrow it as a crash. */
function fromError(error, method) {
  if (error instanceof got.HTTPError) {
    // A non-2xx answer: got rejects before the client looks at the body, but the error it
    // hands the application keeps the response, body included (error.response.body). The
    // client interprets none of it; an application can, so the harness reads it there.
    return fromHttpError(error, method);
  }
  if (error instanceof got.ParseError) {
    log(`${method}: got ParseError -> transport-failure non-json`);
    return { outcome: "transport-failure", kind: "non-json", detail: oneLine(`${error.name}: ${error.message}`), status: statusOf(error) };
  }
  if (error instanceof got.RequestError) {
    let kind = "connection";
    if (error instanceof got.TimeoutError) {
      kind = "timeout";
    } else if (error instanceof got.MaxRedirectsError) {
      kind = "redirect";
    }
    log(`${method}: got ${error.name} ${error.code ?? ""} -> transport-failure ${kind}`);
    return { outcome: "transport-failure", kind, detail: oneLine(`${error.name} ${error.code ?? ""}: ${error.message}`), status: statusOf(error) };
  }
  const match = error instanceof Error && error.constructor === Error ? CALL_ERROR.exec(error.message) : null;
  if (match) {
    // The client's own error for an envelope with a truthy `error`: the code as text, nothing
    // else (no description, no status, a numeric code turned into a string).
    log(`${method}: the client's Error -> api-error ${safeJson(match[1])}`);
    return { outcome: "api-error", code: match[1], description: null, status: null };
  }
  throw error; // anything else (a TypeError inside the client...): the client threw, a crash
}

function crashText(error) {
  if (error instanceof Error) {
    return oneLine(`${error.name}: ${error.message}`);
  }
  return oneLine(`thrown: ${safeJson(error)}`);
}

async function main() {
  let client = null;
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  for await (const raw of lines) {
    if (!raw.trim()) {
      continue;
    }
    let message;
    try {
      message = JSON.parse(raw);
    } catch (error) {
      log(`ignoring a line that is not JSON: ${error.message}`);
      continue;
    }
    const kind = message?.type;
    if (kind === "start") {
      if (message.protocol !== PROTOCOL) {
        log(`cannot speak protocol ${safeJson(message.protocol)}, only ${PROTOCOL}`);
        return 2;
      }
      client = null;
      try {
        client = new Client(message.target);
      } catch (error) {
        send({ type: "crash", seq: null, error: crashText(error), traceback: null });
        continue;
      }
      send({ type: "started", protocol: PROTOCOL, name: NAME, version: VERSION, language: "node", capabilities: CAPABILITIES });
    } else if (kind === "call") {
      const seq = message.seq;
      let outcome;
      try {
        if (client === null) {
          throw new Error("call before a successful start");
        }
        outcome = await client.call(message.method, message.params);
      } catch (error) {
        const traceback = error instanceof Error && error.stack ? error.stack : null;
        log(`${message.method}: crash: ${crashText(error)}`);
        send({ type: "crash", seq, error: crashText(error), traceback });
        continue;
      }
      send({ type: "outcome", seq, ...outcome });
    } else if (kind === "stop") {
      return 0;
    } else {
      log(`ignoring a message of unknown type ${safeJson(kind)}`);
    }
  }
  return 0; // stdin closed: the suite has gone away
}

process.on("unhandledRejection", (reason) => log(`unhandled rejection: ${crashText(reason)}`));

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`fatal: ${crashText(error)}`);
    process.exit(1);
  },
);
