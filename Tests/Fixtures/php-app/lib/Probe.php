<?php
/** What an application can look at to tell how it runs; compared between the php CLI and the program. */
final class Probe {
    public static function facts(): array {
        $server = $_SERVER;
        return [
            'PHP_SAPI' => PHP_SAPI,
            'php_sapi_name' => php_sapi_name(),
            'server' => [
                'PHP_SELF' => $server['PHP_SELF'] ?? null,
                'SCRIPT_NAME' => $server['SCRIPT_NAME'] ?? null,
                'SCRIPT_FILENAME' => $server['SCRIPT_FILENAME'] ?? null,
                'PATH_TRANSLATED' => $server['PATH_TRANSLATED'] ?? null,
                'DOCUMENT_ROOT' => $server['DOCUMENT_ROOT'] ?? null,
                'argv' => $server['argv'] ?? null,
                'argc' => $server['argc'] ?? null,
                'REQUEST_TIME' => is_int($server['REQUEST_TIME'] ?? null),
                'REQUEST_TIME_FLOAT' => is_float($server['REQUEST_TIME_FLOAT'] ?? null),
            ],
            'stdio' => [defined('STDIN'), defined('STDOUT'), defined('STDERR')],
            'PHP_BINARY' => PHP_BINARY,
            'extensions' => (function () { $e = get_loaded_extensions(); sort($e); return $e; })(),
            'ini' => array_map('ini_get', ['memory_limit' => 'memory_limit', 'display_errors' => 'display_errors',
                                           'max_execution_time' => 'max_execution_time', 'register_argc_argv' => 'register_argc_argv']),
        ];
    }
}
