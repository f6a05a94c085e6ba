import Foundation
import Glibc
import Testing

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
}
