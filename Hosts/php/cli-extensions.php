<?php
// The shared extensions this php CLI loads through its INI files (php.ini and conf.d), by the
// names `extension=` takes (`zend:NAME` for a `zend_extension=`, opcache): what php-host.mk
// loads into a program linked against a shared libphp by default, so that it sees the
// extensions the CLI sees. One line, space-separated.
$files = array_filter(array_merge([(string)php_ini_loaded_file()], array_map('trim', explode(',', (string)php_ini_scanned_files()))));
$names = [];
foreach ($files as $file) {
    foreach (file($file, FILE_IGNORE_NEW_LINES) ?: [] as $line) {
        if (preg_match('/^\s*(zend_)?extension\s*=\s*"?([^";\s]+)/', $line, $m)) {
            $name = preg_replace('/\.so$/', '', basename($m[2]));
            if ($m[1] !== '') $names["zend:$name"] = true;
            elseif (extension_loaded($name)) $names[$name] = true;
        }
    }
}
echo implode(' ', array_keys($names)), "\n";
