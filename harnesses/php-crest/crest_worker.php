<?php
// One target of the php-crest harness in one PHP process. CRest reads its webhook from the
// constant C_REST_WEB_HOOK_URL, and a PHP constant cannot be defined twice, so harness.php
// starts this worker afresh for every `start` (docs/harness-protocol.md) and kills it on the next.
//
//   stdin, line 1:   the protocol's `target` object (JSON)
//   stdin, then:     one call per line, {"method": ..., "params": {...}}
//   fd 3:            one answer per line: {"ready": true, "version": ...} after loading CRest,
//                    then per call the outcome's fields, or {"crash": ..., "traceback": ...}
//   stdout, stderr:  the harness's stderr, i.e. the suite's log (PHP's warnings, CRest's logs)
//
// CRest is loaded from a fresh directory of its own (a copy of crest.php and settings.php), so
// that what it writes next to itself (its call logs under logs/, settings.json after a token
// refresh) never lands in the checkout, and every file it writes during a call is forwarded to
// stderr before the answer, unredacted: CRest's logs are its logs, and the suite redacts.

const CREST_FILES = ['crest.php', 'settings.php'];
const JSON_OUT = JSON_PRESERVE_ZERO_FRACTION | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;
// The libcurl errors (curl_error() texts) that are a timeout or a redirect it gave up on; every
// other cURL error is a connection failure.
const TIMEOUT_ERROR = '/timed out|timeout was reached/i';
const REDIRECT_ERROR = '/redirects followed/i';
// Error arrays CRest makes itself (callCurl) rather than reads from the portal.
const CREST_OWN_ERRORS = ['error_php_lib_curl', 'no_install_app', 'exception'];

function say($answers, array $message): void
{
    fwrite($answers, json_encode($message, JSON_OUT) . "\n");
    fflush($answers);
}

function note(string $text): void
{
    fwrite(STDERR, "php-crest: $text\n");
}

function one_line(string $text): string
{
    $lines = array_filter(preg_split('/\r?\n/', $text), fn ($line) => trim($line) !== '');
    return implode(' | ', $lines);
}

function is_map(mixed $value): bool
{
    // json_decode($body, true), as CRest decodes, makes {} an empty array like []: either is a map.
    return is_array($value) && ($value === [] || !array_is_list($value));
}

function failure(string $kind, string $detail): array
{
    // CRest hands the application no HTTP status (curl_getinfo goes to its log only).
    return ['outcome' => 'transport-failure', 'kind' => $kind, 'detail' => $detail, 'status' => null];
}

/** The outcome of what CRest::call returned: its decoded body, or the error array it made. */
function outcome_of(mixed $result): array
{
    if (is_array($result) && array_key_exists('error', $result)) {
        $error = $result['error'];
        $information = $result['error_information'] ?? null;
        if ($error === 'curl_error' && is_string($information)) {
            // callCurl: curl_errno() was set, error_information is curl_error()'s text.
            $kind = preg_match(TIMEOUT_ERROR, $information) ? 'timeout'
                : (preg_match(REDIRECT_ERROR, $information) ? 'redirect' : 'connection');
            return failure($kind, "CRest curl_error: $information");
        }
        if (in_array($error, CREST_OWN_ERRORS, true) && !array_key_exists('error_description', $result)) {
            throw new RuntimeException("CRest could not make the call: $error: " . json_encode($information));
        }
        if (is_string($error) || is_int($error)) {
            $description = $result['error_description'] ?? null;
            return [
                'outcome' => 'api-error',
                'code' => $error,
                'description' => is_string($description) ? $description : null,
                'status' => null,
            ];
        }
        if (is_map($error) && array_key_exists('code', $error)) {
            // A REST v3 error object: its code and message.
            $code = $error['code'];
            $message = $error['message'] ?? null;
            return [
                'outcome' => 'api-error',
                'code' => is_string($code) || is_int($code) ? $code : json_encode($code),
                'description' => is_string($message) ? $message : null,
                'status' => null,
            ];
        }
        return failure('bad-envelope', 'CRest returned an array whose error is ' . json_encode($error));
    }
    if (is_map($result) && array_key_exists('result', $result)) {
        $time = $result['time'] ?? null;
        $total = $result['total'] ?? null;
        return [
            'outcome' => 'success',
            'result' => $result['result'],
            // A time block is an object; {} decoded by CRest is an empty array, sent back as {}.
            'time' => is_map($time) ? (object) $time : null,
            'total' => is_int($total) ? $total : null,
        ];
    }
    if ($result === null) {
        // json_decode() gives null for an empty body, a body that is not JSON and JSON null
        // alike; CRest hands the application nothing else to tell them apart.
        return failure('non-json', 'CRest::call returned null (its json_decode of the body found no value)');
    }
    return failure('bad-envelope', 'CRest::call returned ' . get_debug_type($result) . ' ' . json_encode($result));
}

/** Files under $home (CRest's own directory) and their digests, but for CRest's sources. */
function written_files(string $home): array
{
    $files = [];
    $entries = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($home, FilesystemIterator::SKIP_DOTS));
    foreach ($entries as $entry) {
        $relative = substr($entry->getPathname(), strlen($home) + 1);
        if ($entry->isFile() && !in_array($relative, CREST_FILES, true)) {
            $files[$relative] = md5_file($entry->getPathname());
        }
    }
    ksort($files);
    return $files;
}

/** Copy to stderr every file CRest wrote or changed since $seen, one line per line, raw. */
function forward_written(string $home, array &$seen): void
{
    $now = written_files($home);
    foreach ($now as $relative => $digest) {
        if (($seen[$relative] ?? null) === $digest) {
            continue;
        }
        foreach (preg_split('/\r?\n/', rtrim((string) file_get_contents("$home/$relative"))) as $line) {
            fwrite(STDERR, "crest wrote $relative: $line\n");
        }
    }
    $seen = $now;
}

function remove_tree(string $path): void
{
    if (!file_exists($path)) {
        return;
    }
    $entries = new RecursiveIteratorIterator(
        new RecursiveDirectoryIterator($path, FilesystemIterator::SKIP_DOTS),
        RecursiveIteratorIterator::CHILD_FIRST,
    );
    foreach ($entries as $entry) {
        $entry->isDir() ? rmdir($entry->getPathname()) : unlink($entry->getPathname());
    }
    rmdir($path);
}

function main(): int
{
    $answers = fopen('php://fd/3', 'w');
    $line = fgets(STDIN);
    if ($line === false) {
        return 0;
    }
    $home = sys_get_temp_dir() . '/php-crest-' . getmypid() . '-' . bin2hex(random_bytes(4));
    register_shutdown_function('remove_tree', $home);
    try {
        $target = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
        mkdir($home, 0700);
        foreach (CREST_FILES as $file) {
            copy(__DIR__ . "/$file", "$home/$file");
        }
        $GLOBALS['CREST_HARNESS_WEBHOOK'] = $target['base_url'];
        require "$home/crest.php";
        say($answers, ['ready' => true, 'version' => CRest::VERSION]);
    } catch (Throwable $error) {
        say($answers, ['crash' => one_line(get_class($error) . ': ' . $error->getMessage()), 'traceback' => (string) $error]);
        return 1;
    }
    $seen = written_files($home);
    while (($line = fgets(STDIN)) !== false) {
        if (trim($line) === '') {
            continue;
        }
        try {
            $call = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
            $message = outcome_of(CRest::call($call['method'], $call['params']));
        } catch (Throwable $error) {
            // CRest (or PHP inside it) threw, or CRest reported an exception of its own: a crash.
            $message = ['crash' => one_line(get_class($error) . ': ' . $error->getMessage()), 'traceback' => (string) $error];
        }
        forward_written($home, $seen);  // before the answer: these lines belong to this call
        say($answers, $message);
    }
    return 0;
}

exit(main());
