import Foundation
import Glibc
import Testing
import PolybinTestSupport

/// The PHP host (Hosts/php, docs/php-host.md) on a small application of the tests' own
/// (Tests/Fixtures/php-app: an entry script apart from its library), not only Arcanist.
/// Serialized: builds and runs keep both cores busy.
@Suite(.serialized) struct PHPHostTests {
    static let nobody: uid_t = 65534

    /// `make` in a directory whose Makefile only sets the variables and includes php-host.mk
    /// builds the program, and it runs the application as the php CLI does.
    @Test func plainMakeBuildsTheProgramThatRunsTheApp() throws {
        let app = try PHPApp.get()
        let cli = try app.cli(["hello"])
        let ours = try run(app.program, ["hello"], environment: ["XDG_CACHE_HOME": app.build.appendingPathComponent("cache").path], stdin: Data())
        #expect(cli.out == "hello from Commands.php\n")
        #expect(ours.out == cli.out, "\(ours.err)")
        #expect(ours.status == cli.status)
        let unknown = try run(app.program, ["nope"], environment: ["XDG_CACHE_HOME": app.build.appendingPathComponent("cache").path], stdin: Data())
        #expect(unknown.status == 2 && unknown.err == "app: unknown command nope\n")
    }

    /// With HOME unset, empty or relative the host falls back to /tmp/polybin-php-UID only when
    /// that directory is its own: one another user created first is never used (before, the
    /// host made its private directory inside it and put it first on PATH).
    @Test func neverUsesATmpDirectoryAnotherUserCreated() throws {
        let app = try PHPApp.get()
        let uid = geteuid()
        for home in ["unset HOME", "export HOME=", "export HOME=relative"] {
            let script = """
                mkdir /tmp/polybin-php-\(uid) && chown \(Self.nobody) /tmp/polybin-php-\(uid) && chmod 0777 /tmp/polybin-php-\(uid)
                \(home); unset XDG_CACHE_HOME
                '\(app.program)' env; echo "status $?"; find /tmp/polybin-php-\(uid) -mindepth 1 | wc -l
                """
            let result = try inPrivateTmp(script)
            let lines = result.out.split(separator: "\n").map(String.init)
            #expect(lines.count == 3 && lines[1] == "status 0", "\(home): \(result.out) \(result.err)")
            #expect(!(lines.first ?? "").contains("/tmp/polybin-php"), "\(home): PATH leads into the other user's directory: \(lines.first ?? "")")
            #expect(lines.last == "0", "\(home): the host created files in the other user's directory")
        }
        // Its own, private: used.
        let own = try inPrivateTmp("unset HOME XDG_CACHE_HOME; '\(app.program)' env; stat -c '%u %a' /tmp/polybin-php-\(uid)")
        let lines = own.out.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("/tmp/polybin-php-\(uid)/bin-") == true && lines.last == "\(uid) 700", "\(own.out) \(own.err)")
    }

    /// Run as root with another user's HOME (`sudo -E`), nothing is created in that home: no
    /// root-owned ~/.cache that would break the user's own programs.
    @Test func neverCreatesACacheInAnotherUsersHome() throws {
        let app = try PHPApp.get()
        let home = try TestEnvironment.temporaryDirectory("polybin-php-home")
        defer { try? FileManager.default.removeItem(at: home) }
        #expect(chown(home.path, Self.nobody, Self.nobody) == 0)
        let result = try inPrivateTmp("unset XDG_CACHE_HOME; export HOME='\(home.path)'; '\(app.program)' env")
        #expect(result.status == 0, "\(result.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.path).isEmpty, "created in nobody's home")
        #expect(!result.out.contains(home.path), "PATH leads into nobody's home: \(result.out)")
    }

    /// A warm start writes nothing: the `php` link on PATH is read, not made again (before,
    /// every start created its directories again).
    @Test func warmStartWritesNothing() throws {
        let app = try PHPApp.get()
        let cache = try TestEnvironment.temporaryDirectory("polybin-php-warm")
        defer { try? FileManager.default.removeItem(at: cache) }
        let env: [String: String?] = ["XDG_CACHE_HOME": cache.path]
        let first = try run(app.program, ["php"], environment: env, stdin: Data())
        #expect(first.out == "child \(app.program)\n", "\(first.err)")
        let trace = cache.appendingPathComponent("trace").path
        let warm = try run("strace", ["-f", "-qq", "-o", trace, "-e", "trace=mkdir,mkdirat,symlink,symlinkat,rename,renameat,renameat2,link,linkat,unlink,unlinkat,creat",
                                      app.program, "hello"], environment: env, stdin: Data())
        #expect(warm.out == "hello from Commands.php\n", "\(warm.err)")
        let writes = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { !$0.contains("+++") }
        #expect(writes.isEmpty, "a warm start wrote: \(writes)")
    }

    /// The application's own `php` is the program (PHP_APP_PATH_PHP, the default).
    @Test func theApplicationsPHPIsTheProgram() throws {
        let app = try PHPApp.get()
        let cache = try TestEnvironment.temporaryDirectory("polybin-php-path")
        defer { try? FileManager.default.removeItem(at: cache) }
        let ours = try run(app.program, ["php"], environment: ["XDG_CACHE_HOME": cache.path, "PATH": "/usr/bin:/bin"], stdin: Data())
        #expect(ours.out == "child \(app.program)\n", "\(ours.err)")
        #expect(ours.status == 0)
        let bins = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("polybin-php").path)
        #expect(bins.count == 1 && bins[0].hasPrefix("bin-"), "\(bins)")
    }

    /// Installed setuid root and run by `nobody` through a link named `php`: no `php`
    /// personality (the caller's `-r` code never runs with the program's privileges: before, it
    /// read /etc/shadow), the application's entry runs instead (with `-r` as its argument), PATH is left alone and nothing is written in the
    /// caller's home or cache.
    @Test func setuidProgramHasNoPHPPersonalityAndTrustsNoEnvironment() throws {
        let app = try PHPApp.get()
        let dir = try TestEnvironment.temporaryDirectory("polybin-php-setuid")
        defer { try? FileManager.default.removeItem(at: dir) }
        chmod(dir.path, 0o755)
        let program = dir.appendingPathComponent("app").path, php = dir.appendingPathComponent("php").path
        try FileManager.default.copyItem(atPath: app.program, toPath: program)
        #expect(chown(program, 0, 0) == 0 && chmod(program, 0o4755) == 0)
        try FileManager.default.createSymbolicLink(atPath: php, withDestinationPath: "app")
        let home = dir.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        #expect(chown(home.path, Self.nobody, Self.nobody) == 0)
        let env: [String: String?] = ["HOME": home.path, "XDG_CACHE_HOME": home.appendingPathComponent("xdg").path, "PATH": "/usr/bin:/bin"]
        func asNobody(_ program: String, _ arguments: [String]) throws -> ProcessResult {
            try run("/usr/bin/setpriv", ["--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", "--", program] + arguments,
                    environment: env, stdin: Data())
        }
        let code = try asNobody(php, ["-r", "echo 'code ran', \"\\n\";"])
        #expect(!code.out.contains("code ran"), "the caller's code ran setuid: \(code.out)")
        #expect(code.err == "app: unknown command -r\n" && code.status == 2, "the entry script did not run: \(code.out) \(code.err)")
        let path = try asNobody(program, ["env"])
        #expect(path.out == "/usr/bin:/bin\n", "\(path.out) \(path.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.path).isEmpty, "written in the caller's home")
    }

    /// What an application can look at to tell how it runs, run under the php CLI and under the
    /// program: PHP_SAPI and php_sapi_name() say `cli`, $_SERVER has the CLI's script keys with
    /// the entry's path, argv/argc and REQUEST_TIME(_FLOAT), the same STDIN/STDOUT/STDERR, ini
    /// values and loaded extensions (by default those the build machine's php CLI loads). Only
    /// $argv[0] (the program as invoked) and PHP_BINARY (the program) differ.
    @Test func theProgramLooksLikeThePHPCLIToTheApplication() throws {
        let app = try PHPApp.get()
        let entry = app.tree.appendingPathComponent("bin/app").path
        let cli = try app.cli(["probe", "x y"])
        let ours = try run(app.program, ["probe", "x y"], environment: ["XDG_CACHE_HOME": app.build.appendingPathComponent("cache").path], stdin: Data())
        #expect(cli.status == 0 && ours.status == 0, "\(cli.err) \(ours.err)")
        func facts(_ output: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        }
        var expected = try facts(cli.out), got = try facts(ours.out)
        #expect(got["PHP_SAPI"] as? String == "cli" && got["php_sapi_name"] as? String == "cli")
        #expect(expected["PHP_BINARY"] as? String == "/usr/bin/php8.2" && got["PHP_BINARY"] as? String == app.program)
        var server = try #require(got["server"] as? [String: Any]), cliServer = try #require(expected["server"] as? [String: Any])
        #expect(cliServer["SCRIPT_NAME"] as? String == entry && server["SCRIPT_NAME"] as? String == entry)
        #expect((cliServer["argv"] as? [String])?.first == entry && (server["argv"] as? [String])?.first == app.program)
        server["argv"] = nil; cliServer["argv"] = nil
        got["server"] = server; expected["server"] = cliServer
        got["PHP_BINARY"] = nil; expected["PHP_BINARY"] = nil
        #expect(NSDictionary(dictionary: got).isEqual(to: expected), "program: \(got)\nphp CLI: \(expected)")
        let build = try run("make", ["-C", app.build.path, "-B", "build/app"])
        #expect(build.out.contains("php-host: build/app loads at run time the shared extensions "), "the build output does not name them: \(build.out.suffix(500))")
    }

    /// Restoring the `file` wrapper (stream_wrapper_unregister, then stream_wrapper_restore, as
    /// interception libraries do) keeps the tree served: with the tree's directory hidden on
    /// disk, the application's own files are still there (before, they vanished).
    @Test func restoringTheFileWrapperKeepsTheTree() throws {
        let app = try PHPApp.get()
        let empty = try TestEnvironment.temporaryDirectory("polybin-php-empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        let hidden = try app.runHiding(app.tree, under: empty, ["restore"])
        #expect(hidden.err == "0\n", "the tree was not hidden, or the app complained: \(hidden.err)")
        #expect(hidden.out == "[true,true,true,true]\n", "after stream_wrapper_restore('file'): \(hidden.out)")
        #expect(try app.cli(["restore"]).out == "[true,true,true,true]\n")
    }

    /// 20 simultaneous first runs that each hand a file of the tree to libcurl all succeed and
    /// leave one copy of it, byte for byte the embedded one, and no temporary file.
    @Test func simultaneousFirstRunsLeaveOneCopyOfEachExtractedFile() throws {
        let app = try PHPApp.get()
        let cache = try TestEnvironment.temporaryDirectory("polybin-php-race")
        defer { try? FileManager.default.removeItem(at: cache) }
        let runs = try shell("for i in $(seq 20); do '\(app.program)' ca & done; wait", environment: ["XDG_CACHE_HOME": cache.path])
        #expect(runs.out == String(repeating: "bool(true)\n", count: 20), "\(runs.out) \(runs.err)")
        let dir = cache.appendingPathComponent("polybin-php")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        let copies = names.filter { $0.hasSuffix("-ca.pem") }
        #expect(copies.count == 1 && !names.contains { $0.hasPrefix(".") }, "\(names)")
        if let copy = copies.first {
            #expect(FileManager.default.contents(atPath: dir.appendingPathComponent(copy).path)
                    == FileManager.default.contents(atPath: app.tree.appendingPathComponent("data/ca.pem").path))
        }
    }

    /// The host's cache directory, made private as the cache policy wants it, in a scratch
    /// XDG_CACHE_HOME of its own: tests plant files in it before the host's first run.
    static func privateCache(_ label: String) throws -> (xdg: URL, dir: URL) {
        let xdg = try TestEnvironment.temporaryDirectory(label)
        let dir = xdg.appendingPathComponent("polybin-php")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return (xdg, dir)
    }

    /// Sets the modification time of `path` (not of what a link points to) two hours back:
    /// older than the hour after which the host takes a temporary name for a killed run's.
    static func makeOld(_ path: String) {
        let then = time(nil) - 2 * 3600
        var times = [timespec(tv_sec: then, tv_nsec: 0), timespec(tv_sec: then, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0, "\(path): utimensat: \(errno)")
    }

    /// A run that writes (the `php` link of a first start, an extracted CA bundle) collects the
    /// temporary files of killed runs older than an hour, and nothing else: a fresh one (a live
    /// writer's), and names of no scheme of the host's (`.tmp-notes`, which an earlier host
    /// deleted too), stay. Before, nothing was ever collected by a test.
    @Test func aWriteCollectsOnlyStaleTemporaryFilesOfTheHostsScheme() throws {
        let app = try PHPApp.get()
        let (xdg, dir) = try Self.privateCache("polybin-php-collect")
        defer { try? FileManager.default.removeItem(at: xdg) }
        func plant(_ name: String, old: Bool) throws {
            try Data("x".utf8).write(to: dir.appendingPathComponent(name))
            if old { Self.makeOld(dir.appendingPathComponent(name).path) }
        }
        let foreign = [".tmp-notes", "notes.txt", ".tmp-12-0-not-a-hash-ca.pem", "bin-0123456789abcdef"]
        for name in foreign { try plant(name, old: true) }
        try plant(".tmp-12-0-0123456789abcdef-ca.pem", old: true)
        try plant(".tmp-13-0-0123456789abcdef-ca.pem", old: false)
        let env: [String: String?] = ["XDG_CACHE_HOME": xdg.path]
        // The first start writes its `php` link.
        let first = try run(app.program, ["hello"], environment: env, stdin: Data())
        #expect(first.out == "hello from Commands.php\n", "\(first.err)")
        var names = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(!names.contains(".tmp-12-0-0123456789abcdef-ca.pem"), "a killed run's temporary file stays: \(names)")
        #expect(names.isSuperset(of: foreign + [".tmp-13-0-0123456789abcdef-ca.pem"]), "collected what is not a stale temporary file: \(names)")
        // An extraction writes too.
        try plant(".tmp-14-3-fedcba9876543210-other.pem", old: true)
        let ca = try run(app.program, ["ca"], environment: env, stdin: Data())
        #expect(ca.out == "bool(true)\n", "\(ca.err)")
        names = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(!names.contains(".tmp-14-3-fedcba9876543210-other.pem"), "a killed run's temporary file stays after an extraction: \(names)")
        #expect(names.isSuperset(of: foreign + [".tmp-13-0-0123456789abcdef-ca.pem"]), "\(names)")
    }

    /// The `bin-HASH` directory of a program that no longer exists (its `php` link dangles) is
    /// removed on the next write, with the temporary link a killed start left in it, and so is
    /// an hour-old empty one (a start killed before it made its link); the live program's own
    /// stays. Before, each program path left a directory forever.
    @Test func theBinDirectoryOfAProgramThatIsGoneIsCollected() throws {
        let app = try PHPApp.get()
        let (xdg, dir) = try Self.privateCache("polybin-php-gone")
        defer { try? FileManager.default.removeItem(at: xdg) }
        let env: [String: String?] = ["XDG_CACHE_HOME": xdg.path]
        let copy = xdg.appendingPathComponent("copy/app").path
        try FileManager.default.createDirectory(atPath: xdg.appendingPathComponent("copy").path, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: app.program, toPath: copy)
        let copied = try run(copy, ["hello"], environment: env, stdin: Data())
        #expect(copied.out == "hello from Commands.php\n", "\(copied.err)")
        let gone = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(gone.count == 1 && gone[0].hasPrefix("bin-"), "\(gone)")
        let goneDir = dir.appendingPathComponent(gone.first ?? "none")
        try FileManager.default.createSymbolicLink(atPath: goneDir.appendingPathComponent(".php-77-0").path, withDestinationPath: copy)
        Self.makeOld(goneDir.appendingPathComponent(".php-77-0").path)
        try FileManager.default.removeItem(atPath: copy)
        let empty = dir.appendingPathComponent("bin-00000000000000aa")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        Self.makeOld(empty.path)
        let live = try run(app.program, ["hello"], environment: env, stdin: Data())
        #expect(live.out == "hello from Commands.php\n", "\(live.err)")
        let bins = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(bins.count == 1 && bins.first != gone.first, "the gone program's or the empty directory stays: \(bins)")
        if bins.count == 1 {
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: dir.appendingPathComponent(bins[0]).appendingPathComponent("php").path)
            #expect(link == app.program)
        }
    }

    /// A first extraction killed (SIGKILL, by strace's fault injection) as it writes its file or
    /// renames it into place, and a first start killed as it renames its `php` link into place,
    /// leave nothing a later run trusts (no final entry, no `php` link); the next run succeeds
    /// even with the killed run's pid, as in a container where every run is pid 1 (before, its
    /// extraction failed on the killed run's temporary name and deleted it); once an hour old,
    /// what the killed runs left is collected by the next write.
    @Test func aKilledExtractionLeavesNothingTrustedAndIsCollected() throws {
        let app = try PHPApp.get()
        let (xdg, dir) = try Self.privateCache("polybin-php-killed")
        defer { try? FileManager.default.removeItem(at: xdg) }
        let env: [String: String?] = ["XDG_CACHE_HOME": xdg.path]
        let embedded = FileManager.default.contents(atPath: app.tree.appendingPathComponent("data/ca.pem").path)
        func killed(at syscall: String) throws -> ProcessResult {
            try run("/usr/bin/unshare", ["-pf", "strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=\(syscall)", "-e", "inject=\(syscall):signal=KILL",
                                         app.program, "ca"], environment: env, stdin: Data())
        }
        // `program ca` as pid `pid` of a pid namespace of its own.
        func ca(asPid pid: Int) throws -> ProcessResult {
            try run("/usr/bin/unshare", ["-pf", "--mount-proc", "/bin/sh", "-c", "echo $(($1 - 1)) >/proc/sys/kernel/ns_last_pid && \"$0\" ca; exit $?",
                                         app.program, String(pid)], environment: env, stdin: Data())
        }
        func everything() throws -> [String] {
            try FileManager.default.subpathsOfDirectory(atPath: dir.path).sorted()
        }
        func pid(of leftover: String) -> Int? {
            leftover.firstMatch(of: /(?:^|\/)\.(?:tmp|php)-([0-9]+)-/).flatMap { Int($0.1) }
        }
        let rename = "/^renameat2?$"
        var leftovers: [String] = []
        // The first start's `php` link renamed, then the CA bundle renamed, then half written
        // (its first write: unnamed with O_TMPFILE, then nothing is left; else a temporary name).
        for (point, removeEntry) in [(rename, false), (rename, true), ("write", true)] {
            if removeEntry {
                for name in try everything() where name.hasSuffix("-ca.pem") && !name.hasPrefix(".") {
                    try FileManager.default.removeItem(at: dir.appendingPathComponent(name))
                }
            }
            let before = Set(try everything())
            let dead = try killed(at: point)
            #expect(dead.status != 0 && !dead.out.contains("bool"), "not killed at \(point): \(dead.out) \(dead.err)")
            let made = try everything().filter { !before.contains($0) }
            #expect(!made.contains { ($0.hasSuffix("-ca.pem") && !$0.hasPrefix(".")) || $0.hasSuffix("/php") },
                    "a killed run left an entry a later run trusts: \(made)")
            let left = made.filter { pid(of: $0) != nil }
            leftovers += left
            let next = try left.first.flatMap(pid(of:)).map { try ca(asPid: $0) } ?? run(app.program, ["ca"], environment: env, stdin: Data())
            #expect(next.out == "bool(true)\n" && next.status == 0, "the run after one killed at \(point): \(next.out) \(next.err)")
            let entries = try everything().filter { $0.hasSuffix("-ca.pem") && !$0.hasPrefix(".") }
            #expect(entries.count == 1 && entries.allSatisfy { FileManager.default.contents(atPath: dir.appendingPathComponent($0).path) == embedded }, "\(entries)")
        }
        #expect(leftovers.count >= 2, "a kill at a rename leaves its temporary name: \(leftovers)")
        for leftover in leftovers { Self.makeOld(dir.appendingPathComponent(leftover).path) }
        for name in try everything() where name.hasSuffix("-ca.pem") && !name.hasPrefix(".") {
            try FileManager.default.removeItem(at: dir.appendingPathComponent(name))
        }
        let collecting = try run(app.program, ["ca"], environment: env, stdin: Data())
        #expect(collecting.out == "bool(true)\n", "\(collecting.err)")
        let final = try everything()
        #expect(final.count == 3 && !final.contains { pid(of: $0) != nil }, "what killed runs left is not collected: \(final)")
    }

    /// Collection follows no link and deletes nothing outside the cache directory: a link named
    /// as a stale temporary file pointing at an old file elsewhere, and a link named as a
    /// bin-HASH directory pointing at a directory elsewhere that holds a dangling `php` link
    /// and an old temporary link, leave their targets as they were.
    @Test func collectionFollowsNoLinkOutOfTheCache() throws {
        let app = try PHPApp.get()
        let (xdg, dir) = try Self.privateCache("polybin-php-links")
        defer { try? FileManager.default.removeItem(at: xdg) }
        let outside = try TestEnvironment.temporaryDirectory("polybin-php-outside")
        defer { try? FileManager.default.removeItem(at: outside) }
        let victim = outside.appendingPathComponent("victim"), bin = outside.appendingPathComponent("bin")
        try Data("keep".utf8).write(to: victim)
        Self.makeOld(victim.path)
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("php").path, withDestinationPath: outside.appendingPathComponent("gone").path)
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent(".php-5-0").path, withDestinationPath: victim.path)
        Self.makeOld(bin.appendingPathComponent(".php-5-0").path)
        Self.makeOld(bin.path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent(".tmp-5-0-0123456789abcdef-ca.pem").path, withDestinationPath: victim.path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("bin-0123456789abcdef").path, withDestinationPath: bin.path)
        let first = try run(app.program, ["ca"], environment: ["XDG_CACHE_HOME": xdg.path], stdin: Data())
        #expect(first.out == "bool(true)\n", "\(first.err)")
        #expect(FileManager.default.contents(atPath: victim.path) == Data("keep".utf8), "the file a link pointed at is gone")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: bin.path)) == ["php", ".php-5-0"], "collected in a directory a link pointed at")
        #expect(FileManager.default.fileExists(atPath: bin.path))
    }

    /// `make -q` after a build reports nothing to do (before, the flags record was a rule that
    /// ran every time), and a change in the tree is work again; a PHP_APP_ROOT with a trailing
    /// slash is the same root (before, the program had nothing in its tree).
    @Test func makeIsQuietWhenUpToDateAndTakesARootWithATrailingSlash() throws {
        let app = try PHPApp.make("php-app", extra: "PHP_APP_ROOT  := \(PHPApp.fixtures.appendingPathComponent("php-app").path)/")
        defer { try? FileManager.default.removeItem(at: app.build) }
        let hello = try run(app.program, ["hello"], environment: ["XDG_CACHE_HOME": app.build.appendingPathComponent("cache").path], stdin: Data())
        #expect(hello.out == "hello from Commands.php\n", "\(hello.err)")
        #expect(try run("make", ["-q", "-C", app.build.path]).status == 0, "make -q reports work after a build")
        #expect(try run("make", ["-q", "-C", app.build.path, "-W", app.tree.appendingPathComponent("lib/Probe.php").path]).status == 1,
                "a changed file of the tree is not work")
    }

    /// Run as `php`, the program takes the CLI's common options as the php CLI does: -v, -m,
    /// -i, -h, -l on standard input, bundled flags (-nq, -nr), -d values quoted as the CLI
    /// quotes them, a missing script or a directory; options it does not have (-a, -S, --ini)
    /// are refused in one line. Before, each of -v, -m, -i, -h and -nq was refused, -l on
    /// standard input failed, and a missing script or a directory was a fatal error (255).
    @Test func phpPersonalityTakesTheCLIsCommonOptions() throws {
        let app = try PHPApp.get()
        let php = try ArcanistBuild.linked(app.program, as: "php")
        let env: [String: String?] = ["XDG_CACHE_HOME": app.build.appendingPathComponent("cache").path]
        func both(_ arguments: [String], stdin: String = "") throws -> (cli: ProcessResult, ours: ProcessResult) {
            (try run("/usr/bin/php8.2", arguments, stdin: Data(stdin.utf8)), try run(php, arguments, environment: env, stdin: Data(stdin.utf8)))
        }
        for (arguments, stdin) in [(["-m"], ""), (["-l"], "<?php echo 1;\n"), (["-l"], "<?php echo 1\n"), (["-nq", "-r", "echo 5;"], ""),
                                   (["-nr", "echo 6;"], ""), (["-d", "highlight.string=#A;B", "-r", "echo ini_get('highlight.string');"], ""),
                                   (["-d", "error_reporting=~E_ALL", "-r", "echo ini_get('error_reporting');"], "")] {
            let (cli, ours) = try both(arguments, stdin: stdin)
            #expect(ours.out == cli.out && ours.status == cli.status, "php \(arguments): \(ours.out) \(ours.err) against the CLI's \(cli.out)")
        }
        // A script that is not there, or a directory (which the CLI reads as an empty script).
        let dir = try TestEnvironment.temporaryDirectory("polybin-php-dir")
        defer { try? FileManager.default.removeItem(at: dir) }
        for arguments in [[dir.path + "/nope"], ["-f", dir.path + "/nope"], ["-l", dir.path + "/nope"], [dir.path], ["-f", dir.path], ["-l", dir.path],
                          [app.tree.appendingPathComponent("lib").path], [app.tree.appendingPathComponent("nope").path]] {
            let (cli, ours) = try both(arguments)
            #expect(ours.out == cli.out && ours.status == cli.status, "php \(arguments): \(ours.out) \(ours.err) against the CLI's \(cli.out)")
        }
        let (cliVersion, version) = try both(["-v"])
        let cliLines = cliVersion.out.split(separator: "\n"), lines = version.out.split(separator: "\n")
        #expect(version.status == 0 && lines.count == cliLines.count && lines.dropFirst() == cliLines.dropFirst()
                && lines.first?.prefix(while: { $0 != "(" }) == cliLines.first?.prefix(while: { $0 != "(" }), "\(version.out)")
        let help = try run(php, ["-h"], environment: env, stdin: Data())
        #expect(help.status == 0 && help.out.hasPrefix("Usage: \(php) [options]"), "\(help.out)")
        let info = try run(php, ["-i"], environment: env, stdin: Data())
        #expect(info.status == 0 && info.out.contains("PHP Version => "), "\(info.out.prefix(300))")
        for option in [["-a"], ["-S", "localhost:1"], ["--ini"]] {
            let refused = try run(php, option, environment: env, stdin: Data())
            #expect(refused.status == 1 && refused.out.isEmpty && refused.err.split(separator: "\n").count == 1
                    && refused.err.contains("option \(option[0]) is not supported"), "\(option): \(refused.err)")
        }
    }

    /// The tree is a read-only file system beyond fopen, as the php CLI sees a read-only copy:
    /// "x.php/" is no file, directories have inodes of their own, flock, gzfile and
    /// compress.zlib:// work on tree files, symlink and link fail with EROFS, tempnam falls back
    /// to the system's temporary directory, SplFileInfo::getRealPath resolves; glob takes
    /// GLOB_BRACE (alternatives in order), the root itself, trailing slashes, GLOB_MARK,
    /// GLOB_ONLYDIR and GLOB_NOCHECK, relative patterns as written; chdir into the tree and out
    /// of it, with relative paths on both sides. The program runs with the tree's directory hidden
    /// by an empty one, which must stay empty; the CLI with it mounted read-only.
    @Test func theTreeIsAReadOnlyFileSystemAsTheCLISeesIt() throws {
        let app = try PHPApp.get()
        let empty = try TestEnvironment.temporaryDirectory("polybin-php-empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        let scratch = try TestEnvironment.temporaryDirectory("polybin-php-chdir")
        defer { try? FileManager.default.removeItem(at: scratch) }
        for command in [["files"], ["glob"], ["chdir", scratch.path]] {
            let ours = try app.runHiding(app.tree, under: empty, command)
            let cli = try run("unshare", ["-m", "sh", "-c", "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && app=\"$1/bin/app\" && shift && exec /usr/bin/php8.2 \"$app\" \"$@\"",
                                          "sh", app.tree.path] + command, stdin: Data())
            #expect(cli.status == 0 && !cli.out.isEmpty, "the php CLI on a read-only copy: \(cli.out) \(cli.err)")
            #expect(ours.out == cli.out && ours.err == "0\n", "\(command): ours \(ours.out) \(ours.err)\nthe CLI's \(cli.out)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: empty.path).isEmpty, "written under the root on disk")
    }

    /// Debian's layout, built as installed (no staging): the entry script in bin/ (an absolute
    /// PHP_APP_ENTRY) and its library in share/php (PHP_APP_DIR), each embedded at its own path,
    /// with a symbolic link inside the library. With the whole layout hidden the program gives
    /// what the php CLI gives for the entry on disk.
    @Test func anEntryApartFromItsLibraryBuildsFromItsInstalledLayout() throws {
        let tree = PHPApp.fixtures.appendingPathComponent("php-app-split")
        let app = try PHPApp.make("php-app-split", name: "tool", variables: """
            PHP_APP_DIR   := \(tree.appendingPathComponent("share/php").path)
            PHP_APP_ENTRY := \(tree.appendingPathComponent("bin/tool").path)
            PHP_APP       := tool
            """)
        defer { try? FileManager.default.removeItem(at: app.build) }
        let empty = try TestEnvironment.temporaryDirectory("polybin-php-empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        let cli = try run("/usr/bin/php8.2", [tree.appendingPathComponent("bin/tool").path, "you"], stdin: Data())
        let ours = try app.runHiding(tree, under: empty, ["you"])
        #expect(cli.out == "hello, you\n[true,true,[\"Greeter.php\",\"Words.php\"],[\"Greeting\",\"greeting-current\"]]\n", "\(cli.out) \(cli.err)")
        #expect(ours.out == cli.out && ours.status == cli.status && ours.err == "0\n", "\(ours.out) \(ours.err)")
    }
}
