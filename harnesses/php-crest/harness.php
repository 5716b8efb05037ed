<?php
// php-crest: the vendor's PHP client CRest (bitrix-tools/crest, crest.php copied unchanged next
// to this file), wrapped as a protocol-1 harness (docs/harness-protocol.md). The suite starts it
// once per run:
//
//   b24-conformance run --client "cmd:php harnesses/php-crest/harness.php" --mode portal
//
// The harness translates and never judges. Each call is CRest's public CRest::call($method,
// $params) with the webhook defined as CRest reads it (the constant C_REST_WEB_HOOK_URL, in
// settings.php). A constant is defined once per PHP process, so every `start` gets a worker
// process of its own (crest_worker.php), which loads CRest and maps what CRest::call returns to
// an outcome; this process only speaks the protocol and supervises the worker.
//
// What the worker's environment sets, and why (none of it is a CRest setting):
// - `curl.cainfo` = target.ca_bundle: CRest sets no CA option on its cURL handles, so PHP's
//   curl.cainfo is the one place to trust the fake portal's CA, as a PHP deployment would;
// - all_proxy = a dead port on loopback, no_proxy = loopback: a fence. CRest refreshes an
//   expired token against the hard-coded https://oauth.bitrix.info/oauth/token/; the suite never
//   lets a client reach anything but loopback, so that request fails at once. no_proxy lists
//   127.0.0.2-9 too: the portal's moved address listens there (conformance/_network.py,
//   MOVED_ADDRESSES), and a fence across it would make CRest's redirects fail on our proxy;
// - PHP errors and warnings go to stderr (never into the protocol), error_reporting = E_ALL.
//
// stdout carries protocol messages only; stderr is the log, unredacted (the suite redacts).

ini_set('display_errors', 'stderr');

const PROTOCOL = 1;
const NAME = 'crest';
// time and total: CRest::call returns the whole decoded envelope. Not status: CRest hands the
// application no HTTP status. Not retry: CRest retries nothing. Not oauth: this harness drives
// the webhook mode only (OAuth needs an installed local application and its settings.json).
const CAPABILITIES = ['time', 'total'];
const JSON_OUT = JSON_PRESERVE_ZERO_FRACTION | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;
const FENCE_PROXY = 'http://127.0.0.1:9';
const LOOPBACK = '127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9,localhost,::1';
const PROXY_VARIABLES = ['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY'];

function send(array|object $message): void
{
    // json_encode escapes non-ASCII and newlines: one 7-bit line per message.
    fwrite(STDOUT, json_encode($message, JSON_OUT) . "\n");
    fflush(STDOUT);
}

function note(string $text): void
{
    fwrite(STDERR, "php-crest: $text\n");
}

/** A CRest worker for one target: a PHP process of its own (see crest_worker.php). */
final class Worker
{
    /** @var resource */
    private $process;
    /** @var resource */
    private $calls;
    /** @var resource */
    private $answers;
    public readonly string $version;

    public function __construct(object $target)
    {
        $command = [PHP_BINARY, '-d', 'display_errors=stderr', '-d', 'log_errors=0', '-d', 'error_reporting=' . E_ALL];
        if (is_string($target->ca_bundle ?? null) && $target->ca_bundle !== '') {
            $command = [...$command, '-d', 'curl.cainfo=' . $target->ca_bundle];
        }
        $command[] = __DIR__ . '/crest_worker.php';
        $environment = array_diff_key(getenv(), array_flip(PROXY_VARIABLES));
        $environment += ['all_proxy' => FENCE_PROXY, 'no_proxy' => LOOPBACK];
        // The worker's stdout joins stderr: nothing CRest prints can reach the protocol.
        $spec = [0 => ['pipe', 'r'], 1 => STDERR, 2 => STDERR, 3 => ['pipe', 'w']];
        $process = proc_open($command, $spec, $pipes, null, $environment);
        if ($process === false) {
            throw new RuntimeException('could not start ' . PHP_BINARY . ' for the CRest worker');
        }
        [$this->process, $this->calls, $this->answers] = [$process, $pipes[0], $pipes[3]];
        $ready = $this->ask($target);
        if (isset($ready->crash)) {
            $this->stop();
            throw new RuntimeException($ready->crash);
        }
        $this->version = (string) $ready->version;
    }

    /** Send one line, read the worker's one-line answer (decoded as objects: {} stays {}). */
    public function ask(object $message): object
    {
        fwrite($this->calls, json_encode($message, JSON_OUT) . "\n");
        fflush($this->calls);
        $line = fgets($this->answers);
        if ($line === false) {
            $code = $this->stop();
            throw new RuntimeException("the CRest worker exited with status $code before answering (see the lines above)");
        }
        return json_decode($line, false, 512, JSON_THROW_ON_ERROR);
    }

    public function stop(): int
    {
        if (!is_resource($this->process)) {
            return -1;
        }
        foreach ([$this->calls, $this->answers] as $pipe) {
            if (is_resource($pipe)) {
                fclose($pipe);
            }
        }
        return proc_close($this->process);  // the worker exits at the end of its stdin
    }
}

/**
 * Remove the directories of workers that are gone. A worker removes its own on exit, but the
 * suite kills the harness's process group when a call hangs (CRest has no timeout), and a
 * killed worker leaves its copy of CRest and its logs behind in the temporary directory.
 */
function sweep_dead_workers(): void
{
    if (!function_exists('posix_kill')) {
        return;
    }
    foreach (glob(sys_get_temp_dir() . '/php-crest-*', GLOB_ONLYDIR) ?: [] as $home) {
        if (!preg_match('/^php-crest-(\d+)-[0-9a-f]+$/', basename($home), $found)) {
            continue;
        }
        $alive = posix_kill((int) $found[1], 0) || posix_get_last_error() !== 3;  // 3: ESRCH
        if (!$alive) {
            exec('rm -rf ' . escapeshellarg($home));
        }
    }
}

function crash(?int $seq, string $error, ?string $traceback = null): void
{
    send(['type' => 'crash', 'seq' => $seq, 'error' => $error, 'traceback' => $traceback]);
}

function main(): int
{
    $worker = null;
    $oauth = false;
    sweep_dead_workers();
    while (($raw = fgets(STDIN)) !== false) {
        if (trim($raw) === '') {
            continue;
        }
        $message = json_decode($raw, false);
        $kind = is_object($message) ? ($message->type ?? null) : null;
        if ($kind === 'start') {
            if (($message->protocol ?? null) !== PROTOCOL) {
                note('cannot speak protocol ' . json_encode($message->protocol ?? null) . ', only ' . PROTOCOL);
                return 2;
            }
            $worker?->stop();
            $worker = null;
            $target = $message->target;
            $oauth = is_string($target->auth_token ?? null) && $target->auth_token !== '';
            try {
                $worker = new Worker($target);
            } catch (Throwable $error) {
                crash(null, get_class($error) . ': ' . $error->getMessage());
                continue;
            }
            note('CRest ' . $worker->version . ' loaded for a webhook target; CRest sets no request timeout, so target.timeout (' . json_encode($target->timeout ?? null) . ' s) is not applied');
            send(['type' => 'started', 'protocol' => PROTOCOL, 'name' => NAME, 'version' => $worker->version, 'language' => 'php', 'capabilities' => CAPABILITIES]);
        } elseif ($kind === 'call') {
            $seq = $message->seq;
            if ($worker === null) {
                crash($seq, 'RuntimeException: call before a successful start');
                continue;
            }
            if ($oauth) {
                // Never a silent webhook call in place of the OAuth one the case asked for.
                crash($seq, 'RuntimeException: the php-crest harness drives CRest\'s webhook mode only, not OAuth');
                continue;
            }
            try {
                $answer = $worker->ask((object) ['method' => $message->method, 'params' => $message->params]);
            } catch (Throwable $error) {
                $worker = null;
                crash($seq, get_class($error) . ': ' . $error->getMessage());
                continue;
            }
            if (isset($answer->crash)) {
                crash($seq, $answer->crash, $answer->traceback ?? null);
                continue;
            }
            send((object) ['type' => 'outcome', 'seq' => $seq, ...get_object_vars($answer)]);
        } elseif ($kind === 'stop') {
            $worker?->stop();
            return 0;
        } else {
            note('ignoring a message of unknown type ' . json_encode($kind));
        }
    }
    $worker?->stop();
    return 0;  // stdin closed: the suite has gone away
}

exit(main());
