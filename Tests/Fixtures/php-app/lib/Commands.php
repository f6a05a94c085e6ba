<?php
require_once __DIR__ . '/Probe.php';

final class Commands {
    public static function run(array $args): int {
        $command = $args[0] ?? 'hello';
        switch ($command) {
        case 'hello':
            echo "hello from ", basename(__FILE__), "\n";
            return 0;
        case 'env':
            // What the program itself sees of PATH (the host may put its `php` first).
            echo getenv('PATH'), "\n";
            return 0;
        case 'php':
            // The application's own `php` call, through PATH.
            passthru('php -r ' . escapeshellarg('echo "child ", PHP_BINARY, "\n";'), $status);
            return $status;
        case 'probe':
            echo json_encode(Probe::facts(), JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT), "\n";
            return 0;
        case 'ca':
            // A file of the tree handed to a C library by path: the host extracts it.
            $h = curl_init();
            var_dump(curl_setopt($h, CURLOPT_CAINFO, __DIR__ . '/../data/ca.pem'));
            return 0;
        case 'files':
            // The tree as a read-only file system, beyond fopen: each answer as the CLI gives
            // it for a read-only copy of the tree.
            $gz = __DIR__ . '/../data/hello.txt.gz';
            $fp = fopen(__FILE__, 'r');
            echo json_encode([
                'slash' => [is_file(__FILE__ . '/'), @file_get_contents(__FILE__ . '/')],
                'inodes' => fileinode(__DIR__) !== fileinode(__DIR__ . '/../bin') && fileinode(__DIR__) !== fileinode(__FILE__),
                'flock' => flock($fp, LOCK_SH) && flock($fp, LOCK_UN),
                'gzfile' => gzfile($gz),
                'zlib' => file_get_contents('compress.zlib://' . $gz),
                'symlink' => [@symlink('/etc/hostname', __DIR__ . '/made-link'), error_get_last()['message'] ?? ''],
                'link' => @link(__FILE__, __DIR__ . '/made-hardlink'),
                'tempnam' => ($t = @tempnam(__DIR__, 'app')) !== false && strpos($t, sys_get_temp_dir() . '/') === 0 && unlink($t),
                'getRealPath' => [(new SplFileInfo(__DIR__ . '/../lib/./Probe.php'))->getRealPath() === __DIR__ . '/Probe.php',
                                  (new SplFileInfo(__DIR__ . '/nope'))->getRealPath(),
                                  (new SplFileObject(__FILE__))->getRealPath() === __FILE__,
                                  (function () { $n = array_map(fn($f) => basename($f->getRealPath()), iterator_to_array(new FilesystemIterator(__DIR__), false)); sort($n); return $n; })()],
            ], JSON_UNESCAPED_SLASHES), "\n";
            return 0;
        case 'glob':
            $root = dirname(__DIR__);
            $patterns = [["$root/lib/*", 0], ["$root/*/", 0], ["$root/lib/{P,C}*.php", GLOB_BRACE], ["$root/{lib,data}/*", GLOB_BRACE],
                         ["$root/{data,lib}/*", GLOB_BRACE | GLOB_NOSORT], [$root, 0], ["$root/", 0], ["$root/lib/*.php", GLOB_MARK],
                         ["$root/*", GLOB_ONLYDIR], ["$root/*", GLOB_MARK], ["$root/lib/nope*", GLOB_NOCHECK], ["$root/lib/nope*", 0]];
            foreach ($patterns as [$pattern, $flags]) {
                $found = glob($pattern, $flags);
                if ($flags & GLOB_NOSORT) sort($found);
                echo json_encode(str_replace($root, 'ROOT', $found), JSON_UNESCAPED_SLASHES), "\n";
            }
            return 0;
        case 'chdir':
            // Into the tree and out again, with relative paths on both sides.
            $root = dirname(__DIR__);
            $out = [chdir(__DIR__), getcwd() === __DIR__, file_exists('Probe.php'), is_file('./Commands.php'),
                    realpath('Probe.php') === __DIR__ . '/Probe.php', glob('*.php'), is_readable('Probe.php'),
                    strlen(file_get_contents('../data/ca.pem')) > 0, @chdir('Probe.php'), @chdir('nope'), getcwd() === __DIR__,
                    chdir('..'), getcwd() === $root, is_dir('lib'), (include 'lib/Answer.php') === 42];
            $scratch = $args[1] ?? sys_get_temp_dir();
            $out[] = chdir($scratch);
            $out[] = getcwd() === realpath($scratch);
            $out[] = file_put_contents('written', 'x') === 1 && is_file("$scratch/written") && unlink('written');
            echo json_encode($out, JSON_UNESCAPED_SLASHES), "\n";
            return 0;
        case 'restore':
            // What interception libraries do to the file wrapper (PHPUnit's vfs and the like).
            $before = file_exists(__FILE__);
            stream_wrapper_unregister('file');
            stream_wrapper_restore('file');
            echo json_encode([$before, file_exists(__FILE__), is_file(__DIR__ . '/Probe.php'),
                              strlen((string)@file_get_contents(__FILE__)) > 0]), "\n";
            return 0;
        default:
            fwrite(STDERR, "app: unknown command $command\n");
            return 2;
        }
    }
}
