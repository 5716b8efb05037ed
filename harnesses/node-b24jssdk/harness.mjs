#!/usr/bin/env node
// node-b24jssdk: the official Bitrix24 JS SDK (@bitrix24/b24jssdk), webhook mode, wrapped as a
// protocol-1 harness (docs/harness-protocol.md). The suite starts it once per run:
//
//   b24-conformance run --client "cmd:node harnesses/node-b24jssdk/harness.mjs" --mode portal --tls
//
// The harness translates and never judges. Each call goes through the SDK's own call path for
// one method, `b24.actions.v2.call.make({method, params})`, and the outcome is built only from
// what that path gives an application: the AjaxResult (isSuccess, getData(), getTotal(),
// getStatus(), getErrors()) or the AjaxError it throws (code, message, status). Nothing is read
// back from the raw HTTP answer, so whatever the SDK loses (a numeric code, an empty code, the
// difference between an HTML page and an error envelope) stays lost in the outcome.
//
// stdout carries protocol messages only; stderr is the log, with every secret replaced by ***.

import fs from "node:fs";
import https from "node:https";
import { createRequire } from "node:module";
import readline from "node:readline";

import { AjaxError, ApiVersion, B24Hook, ParamsFactory, SdkError } from "@bitrix24/b24jssdk";

const PROTOCOL = 1;
const NAME = "b24jssdk";
const VERSION = createRequire(import.meta.url)("@bitrix24/b24jssdk/package.json").version;
// status: AjaxError.status and AjaxResult.getStatus(); time: getData().time;
// total: AjaxResult.getTotal(); retry: the SDK's RestrictionManager retries QUERY_LIMIT_EXCEEDED
// (and every 503) and OPERATION_TIME_LIMIT (and every 429) itself. Not oauth or refresh: this
// harness drives B24Hook (webhook mode) only.
const CAPABILITIES = ["status", "time", "total", "retry"];

// The SDK's own retry settings, shrunk so a run stays fast. Everything else stays at the SDK's
// defaults (ParamsFactory.getDefault(): maxRetries 3, retryOnNetworkError true, ...).
const RESTRICTION_PARAMS = {
  ...ParamsFactory.getDefault(),
  // Base of the backoff for errors the SDK deems transient (default 1000 ms): 100, 200 ms.
  retryDelay: 100,
  // The wait after QUERY_LIMIT_EXCEEDED is 1000 / drainRate + 1000 ms, growing by 1.5 per
  // attempt (default drainRate 2: 1.5 s, 2.25 s). A fast drain brings it to ~1.0 s, 1.5 s; the
  // burst lets a property run many calls on one target without client-side throttling.
  rateLimit: { burstLimit: 1000, drainRate: 100, adaptiveEnabled: true },
  // The wait after OPERATION_TIME_LIMIT has a hard-coded floor of 10 s in
  // RestrictionManager.handleError (Math.max(1e4, ...)): no setting shrinks it.
};

// Codes the SDK puts on an AjaxError with status 0, meaning no HTTP answer came (the SDK's
// _convertAxiosErrorToAjaxError: `status = axiosError.response?.status || 0`).
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "ECONNABORTED", "ESOCKETTIMEDOUT"]);
const REDIRECT_CODES = new Set(["ERR_FR_TOO_MANY_REDIRECTS", "ERR_FR_MAX_BODY_LENGTH_EXCEEDED"]);

// The client's text goes out raw: redacting here would hide the very leak the suite looks for.
// The suite redacts everything it writes itself (docs/harness-protocol.md, "Secrets and stderr").

/** The harness's log: stderr, never stdout (stdout carries protocol messages only). */
function log(text) {
  process.stderr.write(`node-b24jssdk: ${String(text).replaceAll("\n", " | ")}\n`);
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
  // JSON.stringify escapes newlines, so a message is always one line. Non-ASCII is escaped too,
  // keeping the line 7-bit like python-minimal's ensure_ascii.
  const line = JSON.stringify(message).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  process.stdout.write(`${line}\n`);
}

function oneLine(text) {
  return String(text).split(/\r?\n/).filter((l) => l.trim() !== "").join(" | ");
}

class Client {
  constructor(target) {
    // B24Hook has no OAuth mode and the harness declares no `oauth` capability: the suite skips
    // the OAuth cases after `started`, and a call on such a target is refused (never silently
    // sent through the webhook instead).
    this.oauth = Boolean(target.auth_token);
    // Accepts https webhook URLs only (JSSDK_HOOK_URL_NOT_HTTPS otherwise): run the portal with --tls.
    this.b24 = B24Hook.fromWebhookUrl(target.base_url, { restrictionParams: RESTRICTION_PARAMS });
    // The SDK's documented way to configure its transport is its axios instance
    // (`getHttpClient(ApiVersion.v2).ajaxClient`); B24Hook passes no http options of its own.
    const axios = this.b24.getHttpClient(ApiVersion.v2).ajaxClient;
    axios.defaults.timeout = Math.max(1, Math.round(Number(target.timeout) * 1000));
    if (target.ca_bundle) {
      // The portal's CA: an agent that trusts it (NODE_EXTRA_CA_CERTS is read at start-up only).
      axios.defaults.httpsAgent = new https.Agent({ ca: fs.readFileSync(target.ca_bundle) });
    }
    // The target is the suite's portal on loopback: never route it through an environment proxy.
    axios.defaults.proxy = false;
  }

  async call(method, params) {
    if (this.oauth) {
      throw new Error("this harness drives B24Hook (webhook mode) only: an OAuth target cannot be called");
    }
    let response;
    try {
      response = await this.b24.actions.v2.call.make({ method, params });
    } catch (error) {
      return fromError(error, method);
    }
    if (!response.isSuccess) {
      // A "soft" error the SDK returns instead of throwing, or an error envelope under 2xx.
      const [error] = [...response.getErrors()];
      return fromError(error, method);
    }
    // What an application reads from a successful AjaxResult. getData() throws a TypeError when
    // the SDK kept no payload at all (an empty body): that is a crash, as for any application.
    const data = response.getData();
    const status = response.getStatus();
    if (data.result === undefined) {
      log(`${method}: the SDK reports success (HTTP ${status}) with result undefined; sent as null`);
    } else {
      log(`${method}: success (HTTP ${status})`);
    }
    return {
      outcome: "success",
      result: data.result === undefined ? null : data.result,
      time: isObject(data.time) ? data.time : null,
      // getTotal() is Text.toInteger(total): 0 when the envelope has no total.
      total: response.getTotal(),
    };
  }
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Map an error the SDK gave the application to an outcome, or rethrow it as a crash. */
function fromError(error, method) {
  if (!(error instanceof SdkError)) {
    throw error; // not the SDK's error type: the client threw, a crash
  }
  const code = error.code;
  const status = typeof error.status === "number" && error.status >= 100 && error.status <= 599 ? error.status : null;
  const description = typeof error.message === "string" ? error.message : null;
  if (code === "JSSDK_UNKNOWN_ERROR") {
    // The SDK wraps an exception of its own (a TypeError inside the SDK) into an AjaxError with
    // this code: the client threw, a crash. The wrapped exception is the SDK's `originalError`.
    const original = error.originalError;
    const wrapped = original instanceof Error ? ` (wrapping ${original.name})` : "";
    const crash = new Error(`${error.name} ${code}${wrapped}: ${error.message}`);
    crash.name = "SdkCrash";
    crash.stack = original instanceof Error && original.stack ? original.stack : error.stack;
    throw crash;
  }
  let kind = null;
  if (code === "REQUEST_TIMEOUT" || TIMEOUT_CODES.has(code)) {
    kind = "timeout"; // the SDK's own timeout code carries a status 408 it made up: kept as given
  } else if (code === "NETWORK_ERROR") {
    kind = "connection";
  } else if (!(error instanceof AjaxError) || error.status === 0 || error.status === undefined) {
    // status 0: the SDK had no HTTP answer; the code is axios's or Node's (ECONNRESET...).
    kind = REDIRECT_CODES.has(code) ? "redirect" : "connection";
  }
  if (kind !== null) {
    log(`${method}: ${error.name} ${code} (status ${error.status}) -> transport-failure ${kind}`);
    return { outcome: "transport-failure", kind, detail: oneLine(`${error.name} ${code}: ${error.message}`), status };
  }
  log(`${method}: ${error.name} ${code} (status ${error.status}) -> api-error`);
  return { outcome: "api-error", code: protocolCode(code), description, status };
}

/** The code as the SDK gives it; a value the protocol cannot carry is kept visible as JSON text. */
function protocolCode(code) {
  if (code === undefined || code === null) {
    return null;
  }
  if (typeof code === "string" || Number.isInteger(code)) {
    return code;
  }
  return safeJson(code);
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
