import Foundation
import Testing
import PolybinTestSupport

/// Examples/arcanist: Debian's Arcanist as one executable (issue 10). `arc` must behave as
/// Debian's `arcanist` while reading none of /usr/share/arcanist from the disk. Serialized:
/// each build and run keeps both cores busy.
@Suite(.serialized) struct ArcanistExample {
    /// Debian's arc, run as its shebang runs it, and ours: same stdout, stderr and status.
    @Test func helpIsDebiansHelp() throws {
        let arc = try ArcanistBuild.get()
        let debian = try run(ArcanistBuild.tree + "/bin/arc", ["help", "--"], stdin: Data())
        let ours = try run(arc.arc, ["help", "--"], stdin: Data())
        #expect(debian.out.contains("WORKFLOWS"), "Debian's arc help printed: \(debian.out.prefix(300)) \(debian.err.prefix(300))")
        #expect(ours.out == debian.out)
        #expect(ours.err == debian.err)
        #expect(ours.status == debian.status)
        // Under Debian's command name the program name in the text follows.
        let named = try run(try ArcanistBuild.linked(arc.arc, as: "arcanist"), ["help", "--"], stdin: Data())
        let arcanist = try run("/usr/bin/arcanist", ["help", "--"], stdin: Data())
        #expect(named.out == arcanist.out)
        #expect(named.status == arcanist.status)
    }

    /// With /usr/share/arcanist hidden by an empty bind mount the output is unchanged; and
    /// with it visible, strace shows no file of the tree opened, executed, listed or even
    /// stat'ed (include/require resolve paths in the tree against the bundle, not the disk).
    @Test func helpReadsNothingOfTheTree() throws {
        let arc = try ArcanistBuild.get()
        let expected = try run(arc.arc, ["help", "--"], stdin: Data())
        let dir = try TestEnvironment.temporaryDirectory("polybin-arc-hidden")
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let hidden = try run("unshare", ["-m", "sh", "-c", "mount --bind \"$1\" \(ArcanistBuild.tree) && ls -A \(ArcanistBuild.tree) | wc -l >&2 && exec \"$2\" help --", "sh", empty.path, arc.arc], stdin: Data())
        #expect(hidden.err == "0\n" + expected.err, "the tree was not hidden, or arc complained: \(hidden.err.prefix(500))")
        #expect(hidden.out == expected.out)
        #expect(hidden.status == expected.status)

        let trace = dir.appendingPathComponent("trace").path
        let traced = try run("strace", ["-f", "-qq", "-e", "trace=open,openat,openat2,execve,execveat,readlink,readlinkat,getdents64,chdir,stat,lstat,newfstatat,statx,access,faccessat,faccessat2", "-o", trace, arc.arc, "help", "--"], stdin: Data())
        #expect(traced.out == expected.out)
        let touched = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { $0.contains("\"\(ArcanistBuild.tree)") }
        #expect(touched.isEmpty, "syscalls on the tree: \(touched.prefix(5))")
    }

    /// The static build, against the libphp.a of tools/build-static-php (built once per
    /// machine and cached; see docs/php-host.md): one statically linked file that, alone in an
    /// otherwise empty root directory (no PHP, no /usr/share/arcanist, no shared library),
    /// prints what Debian's `arc help --` prints, and has Arcanist's extensions built in.
    @Test func staticArcRunsInAnEmptyRoot() throws {
        let arc = try ArcanistBuild.getStatic()
        let file = try run("file", ["-b", arc.arcStatic], stdin: Data())
        #expect(file.out.contains("statically linked"), "file says: \(file.out)")
        let dir = try TestEnvironment.temporaryDirectory("polybin-arc-static")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        // Arcanist picks its toolset by the program's name: `arc`; and `php` for its php calls.
        try FileManager.default.copyItem(atPath: arc.arcStatic, toPath: root.appendingPathComponent("arc").path)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("php").path, withDestinationPath: "arc")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() == ["arc", "php"])

        let debian = try run(ArcanistBuild.tree + "/bin/arc", ["help", "--"], stdin: Data())
        let ours = try run("/usr/sbin/chroot", [root.path, "/arc", "help", "--"], environment: ["PATH": "/"], stdin: Data())
        #expect(debian.out.contains("WORKFLOWS"))
        #expect(ours.out == debian.out, "stderr: \(ours.err.prefix(500))")
        #expect(ours.err == debian.err)
        #expect(ours.status == debian.status)

        let needed = ["ctype", "curl", "openssl", "dom", "libxml", "xml", "simplexml", "mbstring", "pcntl", "posix", "iconv", "zlib", "filter", "tokenizer"]
        let code = "echo PHP_OS, ' ', implode(',', array_filter(['\(needed.joined(separator: "','"))'], fn($e) => !extension_loaded($e))), ' ', strlen(file_get_contents('\(ArcanistBuild.tree)/bin/arc')) > 0 ? 'tree' : '', \"\\n\";"
        let php = try run("/usr/sbin/chroot", [root.path, "/php", "-r", code], environment: ["PATH": "/"], stdin: Data())
        #expect(php.out == "Linux  tree\n", "missing extensions, or the tree: \(php.out) \(php.err.prefix(300))")
        #expect(php.status == 0)
    }

    /// Arcanist's own unit tests from a git working copy of the tree: a subset that runs in
    /// seconds and has passes, failures (PHP 8.2 deprecations), skips, `php -f` children,
    /// timeouts that leave `sleep.php` behind and a passthru child. Run by the php CLI
    /// (`php bin/arc unit`) and by the program built from the copy, with Debian's php
    /// replaced by /bin/false so that every PHP process is the program: each test's result is
    /// the same. The program loads the shared extensions the machine's php CLI loads (the
    /// php-host.mk default), so the comparison holds whatever extensions the machine has
    /// (before, installing php8.2-mbstring turned the CLI's SKIPs into PASSes and not the
    /// program's). (The whole `--everything` run takes minutes; its counts are in docs/php-host.md.)
    @Test func arcanistsOwnUnitTestsGiveThePHPCLIsResults() throws {
        let wc = try ArcanistWorkingCopy.get()
        let tests = ["src/utils/__tests__/PhutilUtilsTestCase.php", "src/utils/__tests__/PhutilUTF8TestCase.php",
                     "src/future/exec/__tests__/ExecFutureTestCase.php", "src/future/exec/__tests__/ExecPassthruTestCase.php",
                     "src/xsprintf/__tests__/PhutilCsprintfTestCase.php", "src/filesystem/__tests__/FilesystemTestCase.php",
                     "src/parser/argument/__tests__/PhutilArgumentSpellingCorrectorTestCase.php"]
        let cli = try wc.unit(["php", "bin/arc"], tests)
        let expected = unitResults(cli.out)
        let counts = unitCounts(cli.out)
        #expect((counts["PASS"] ?? 0) > 50 && (counts["FAIL"] ?? 0) > 0 && (counts["SKIP"] ?? 0) > 0,
                "the php CLI's run: \(counts) \(cli.err.prefix(500))")
        #expect(expected.keys.contains("ExecPassthruTestCase::testExecPassthru"), "a line was overwritten: \(cli.out.prefix(300))")

        let ours = try wc.unit(["unshare", "-m", "sh", "-c", "mount --bind /bin/false /usr/bin/php8.2 && exec \"$0\" \"$@\"", wc.arc], tests)
        #expect(unitResults(ours.out) == expected, "ours: \(unitCounts(ours.out)), the CLI's: \(counts); stderr: \(ours.err.prefix(800))")
        #expect(ours.status == cli.status)
    }

    /// Run as `php`, the host is a PHP command line for the embedded tree and the disk.
    @Test func actsAsPHPWhenCalledPHP() throws {
        let arc = try ArcanistBuild.get()
        let php = try ArcanistBuild.linked(arc.arc, as: "php")
        let dir = try TestEnvironment.temporaryDirectory("polybin-php-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("args.php")
        try "#!/usr/bin/env php\n<?php echo json_encode($argv, JSON_UNESCAPED_SLASHES), \"\\n\"; fwrite(STDERR, \"to stderr\\n\"); exit(42);\n".write(to: script, atomically: true, encoding: .utf8)
        let bad = dir.appendingPathComponent("bad.php")
        try "<?php function (\n".write(to: bad, atomically: true, encoding: .utf8)

        let ran = try run(php, ["-f", script.path, "--", "a b", "-x"], stdin: Data())
        #expect(ran.out == "[\"\(script.path)\",\"a b\",\"-x\"]\n", "shebang skipped, $argv as the CLI gives it")
        #expect(ran.err == "to stderr\n")
        #expect(ran.status == 42)
        #expect(try run(php, [script.path, "c"], stdin: Data()).out == "[\"\(script.path)\",\"c\"]\n")

        let code = try run(php, ["-d", "precision=5", "-r", "echo ini_get('precision'), ' ', ini_get('variables_order'), ' ', isset($_ENV['PATH']) ? 'env' : 'noenv', ' ', defined('STDIN') ? 'stdin' : '', \"\\n\"; exit(3);"], stdin: Data())
        #expect(code.out == "5 EGPCS env stdin\n")
        #expect(code.status == 3)

        let good = try run(php, ["-l", script.path], stdin: Data())
        #expect(good.out == "No syntax errors detected in \(script.path)\n")
        #expect(good.status == 0)
        let broken = try run(php, ["-l", bad.path], stdin: Data())
        #expect(broken.out.contains("Errors parsing \(bad.path)"))
        #expect(broken.status == 255)
        // What Debian's php says about the same file, for comparison.
        #expect(try run("php", ["-l", bad.path], stdin: Data()).status == 255)
    }

    /// The tree from PHP: read-only, realpath/glob/is_* agree with the wrapper, a CA file
    /// for libcurl is extracted into the private cache, real paths are untouched.
    @Test func embeddedTreeIsAReadOnlyFileSystem() throws {
        let arc = try ArcanistBuild.get()
        let php = try ArcanistBuild.linked(arc.arc, as: "php")
        let dir = try TestEnvironment.temporaryDirectory("polybin-php-tree")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("cache")
        let t = ArcanistBuild.tree
        let code = """
            $t = '\(t)';
            foreach ([
              is_dir($t), is_file("$t/bin/arc"), file_exists("$t/nope"), is_readable("$t/bin/arc"),
              is_writable("$t/bin/arc"), realpath("$t/src/../bin/./arc"), realpath("$t/nope"),
              count(glob("$t/src/*/__tests__")) > 10, in_array('arc', scandir("$t/bin")),
              @file_put_contents("$t/new", 'x'), error_get_last()['message'] ?? '', @mkdir("$t/d"),
              @unlink("$t/bin/arc"), is_file("$t/bin/arc"), strlen(file_get_contents("$t/bin/arc")) == filesize("$t/bin/arc"),
              is_writable('\(dir.path)'), file_put_contents('\(dir.path)/real', 'ok'), realpath('\(dir.path)/real'),
            ] as $v) echo var_export($v, true), "\n";
            $h = curl_init();
            var_dump(curl_setopt($h, CURLOPT_CAINFO, "$t/resources/ssl/default.pem"));
            """
        let result = try run(php, ["-r", code], environment: ["XDG_CACHE_HOME": cache.path], stdin: Data())
        #expect(result.status == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(18)) == [
            "true", "true", "false", "true",
            "false", "'\(t)/bin/arc'", "false",
            "true", "true",
            "false", "'file_put_contents(\(t)/new): Failed to open stream: Read-only file system'", "false",
            "false", "true", "true",
            "true", "2", "'\(dir.appendingPathComponent("real").path)'",
        ])
        #expect(lines.dropFirst(18).first == "bool(true)")
        let extracted = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("polybin-php").path).filter { $0.hasSuffix("-default.pem") }
        #expect(extracted.count == 1)
        if let name = extracted.first {
            let copy = cache.appendingPathComponent("polybin-php/\(name)").path
            #expect(FileManager.default.contents(atPath: copy) == FileManager.default.contents(atPath: t + "/resources/ssl/default.pem"))
        }
    }
}
