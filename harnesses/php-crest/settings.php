<?php
// CRest's own configuration file: crest.php starts with require_once(__DIR__.'/settings.php'),
// and settings.php.example is the vendor's template for it. This one defines only the webhook,
// from the target the harness's worker (crest_worker.php) set just before loading crest.php;
// every other setting stays at CRest's default: logging on (files under __DIR__/logs/), cURL's
// TLS checks on, UTF-8, no OAuth application.
define('C_REST_WEB_HOOK_URL', $GLOBALS['CREST_HARNESS_WEBHOOK']);
