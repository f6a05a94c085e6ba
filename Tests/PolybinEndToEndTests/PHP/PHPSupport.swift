import Foundation
import Testing
import PolybinTestSupport

/// Examples/arcanist built once per test run into a temporary build directory, with the
/// polybin under test: `arc` against Debian's libphp8.2.so, and on demand `arc-static`
/// against the libphp.a of tools/build-static-php (built and cached when absent).
struct ArcanistBuild: Sendable {
    static let tree = "/usr/share/arcanist"
    static let example = TestEnvironment.root.appendingPathComponent("Examples/arcanist")
    let build: URL
    var arc: String { build.appendingPathComponent("arc").path }
    var arcStatic: String { build.appendingPathComponent("arc-static").path }

    static func get() throws -> ArcanistBuild { try BuildOnce.value("ArcanistBuild", make) }

    private static func make() throws -> ArcanistBuild {
        for file in [tree + "/bin/arc", "/usr/bin/php8.2", "/usr/lib/libphp8.2.so", "/usr/bin/strace"] where !FileManager.default.fileExists(atPath: file) {
            throw FixtureError("\(file) is missing: run tools/bootstrap (it installs arcanist, php8.2-cli, libphp8.2-embed, php8.2-dev and strace)")
        }
        let build = try TestEnvironment.temporaryDirectory("polybin-arcanist")
        try mustRun("make", ["-C", example.path, "POLYBIN=\(TestEnvironment.polybin)", "POLYBIN_BUILDDIR=\(build.path)"])
        return ArcanistBuild(build: build)
    }

    static func getStatic() throws -> ArcanistBuild { try BuildOnce.value("ArcanistBuild.static", makeStatic) }

    private static func makeStatic() throws -> ArcanistBuild {
        let built = try get()
        try mustRun("make", ["-C", example.path, "POLYBIN=\(TestEnvironment.polybin)", "POLYBIN_BUILDDIR=\(built.build.path)", "static"])
        return built
    }

    /// A directory holding `name` as a link to `program`: how the host is run as `php` or `arcanist`.
    static func linked(_ program: String, as name: String) throws -> String {
        let dir = try TestEnvironment.temporaryDirectory("polybin-php-link")
        let link = dir.appendingPathComponent(name).path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: program)
        return link
    }
}

/// The result lines of `arc unit`'s output: each one's result word ("PASS", "FAIL", "SKIP"
/// and the like) and its last word (the test's "Class::method" where the line names one).
func unitLines(_ output: String) -> [(result: String, last: String)] {
    output.split(separator: "\n").compactMap { line in
        // Some tests turn colour on half way: drop the escape sequences.
        let plain = String(line).replacing(/\x{1B}\[[0-9;]*m/, with: "")
        let words = plain.split(separator: " ", omittingEmptySubsequences: true)
        guard let first = words.first, let last = words.last else { return nil }
        let word = String(first).filter(\.isLetter)
        return ["PASS", "FAIL", "SKIP", "BROKEN", "UNSOUND"].contains(word) ? (word, String(last)) : nil
    }
}

/// The summary line counts of `arc unit`'s output: "PASS", "FAIL", "SKIP" and the like.
func unitCounts(_ output: String) -> [String: Int] {
    unitLines(output).reduce(into: [:]) { $0[$1.result, default: 0] += 1 }
}

/// Each test's result in `arc unit`'s output: "Class::method" → "PASS", "FAIL", "SKIP", ...
func unitResults(_ output: String) -> [String: String] {
    unitLines(output).filter { $0.last.contains("::") }.reduce(into: [:]) { $0[$1.last] = $1.result }
}

/// A git working copy of Arcanist's tree and an `arc` built from it, whose root is the copy's
/// own path: the program and the working copy are then one Arcanist library, as `php bin/arc`
/// run in the copy is. (A program built from /usr/share/arcanist, run in another copy of
/// Arcanist, loads the copy's src/ as a second library and dies: "Cannot redeclare
/// __phutil_autoload()"; Debian's php does the same.) `.git` is a gitlink file to a git
/// directory beside the copy, so the program embeds one small file for it.
struct ArcanistWorkingCopy: Sendable {
    let dir: URL
    var copy: URL { dir.appendingPathComponent("arcanist") }
    var arc: String { dir.appendingPathComponent("build/arc").path }
    /// As root, git refuses a repository owned by another user without safe.directory: given
    /// through the environment, never the global configuration.
    static let git: [String: String?] = ["GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"]

    static func get() throws -> ArcanistWorkingCopy { try BuildOnce.value("ArcanistWorkingCopy", make) }

    private static func make() throws -> ArcanistWorkingCopy {
        _ = try ArcanistBuild.get()
        let wc = ArcanistWorkingCopy(dir: try TestEnvironment.temporaryDirectory("polybin-arc-wc"))
        try mustRun("cp", ["-a", ArcanistBuild.tree, wc.copy.path])
        try mustRun("git", ["init", "-q", "--separate-git-dir", wc.dir.appendingPathComponent("git").path, wc.copy.path], environment: git)
        try mustRun("git", ["add", "-A"], cwd: wc.copy, environment: git)
        try mustRun("git", ["-c", "user.name=polybin", "-c", "user.email=polybin@example.invalid", "commit", "-q", "-m", "Arcanist"], cwd: wc.copy, environment: git)
        try mustRun("make", ["-C", ArcanistBuild.example.path, "POLYBIN=\(TestEnvironment.polybin)",
                             "POLYBIN_BUILDDIR=\(wc.dir.appendingPathComponent("build").path)", "PHP_APP_DIR=\(wc.copy.path)"])
        return wc
    }

    /// `command... unit --no-coverage -- TESTS` in the copy. Output goes to files opened for
    /// appending: ExecPassthruTestCase hands the STDOUT stream to a child, and PHP then seeks
    /// fd 1 back to the stream's own idea of its position (0: arc writes with echo), so later
    /// lines overwrite earlier ones in a file opened without O_APPEND. Timeout tests leave
    /// `sleep.php` processes behind: they are killed afterwards.
    func unit(_ command: [String], _ tests: [String], environment: [String: String?] = [:]) throws -> (out: String, err: String, status: Int32) {
        let out = dir.appendingPathComponent("unit-\(UUID().uuidString).out"), err = dir.appendingPathComponent("unit-\(UUID().uuidString).err")
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        var env = Self.git
        env["ARC_OUT"] = out.path
        env["ARC_ERR"] = err.path
        for (key, value) in environment { env[key] = value }
        let result = try run("/bin/sh", ["-c", "exec \"$@\" >>\"$ARC_OUT\" 2>>\"$ARC_ERR\"", "sh"] + command + ["unit", "--no-coverage", "--"] + tests,
                             environment: env, cwd: copy, stdin: Data())
        killLeftovers()
        return (try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8), result.status)
    }

    /// Processes still running a script of the copy.
    func killLeftovers() {
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for pid in pids.compactMap({ Int32($0) }) {
            guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            if String(decoding: cmdline, as: UTF8.self).contains(copy.path + "/") { kill(pid, SIGKILL) }
        }
    }
}

/// A small PHP application of the tests' own (Tests/Fixtures/`fixture`) built into one program
/// by a Makefile that only sets the variables and includes Hosts/php/php-host.mk, run with
/// plain `make` (the program is the default goal). Built once per fixture and test run.
struct PHPApp: Sendable {
    static let fixtures = TestEnvironment.root.appendingPathComponent("Tests/Fixtures")
    let tree: URL
    let build: URL
    var name = "app"
    var program: String { build.appendingPathComponent("build/\(name)").path }

    /// `variables`: the Makefile's PHP_APP_* lines (default: the fixture's tree, bin/app, app).
    static func makefile(tree: URL, variables: String? = nil, extra: String = "") -> String {
        """
        \(variables ?? "PHP_APP_DIR   := \(tree.path)\nPHP_APP_ENTRY := bin/app\nPHP_APP       := app")
        POLYBIN       := \(TestEnvironment.polybin)
        CFLAGS        := -O2 -Wall -Wextra
        \(extra)
        include \(TestEnvironment.root.appendingPathComponent("Hosts/php/php-host.mk").path)

        """
    }

    static func make(_ fixture: String, name: String = "app", variables: String? = nil, extra: String = "") throws -> PHPApp {
        for file in ["/usr/bin/php8.2", "/usr/lib/libphp8.2.so", "/usr/bin/php-config8.2"] where !FileManager.default.fileExists(atPath: file) {
            throw FixtureError("\(file) is missing: run tools/bootstrap (it installs php8.2-cli, libphp8.2-embed and php8.2-dev)")
        }
        let app = PHPApp(tree: fixtures.appendingPathComponent(fixture), build: try TestEnvironment.temporaryDirectory("polybin-php-app"), name: name)
        try Data(makefile(tree: app.tree, variables: variables, extra: extra).utf8).write(to: app.build.appendingPathComponent("Makefile"))
        try mustRun("make", ["-C", app.build.path])
        return app
    }

    static func get() throws -> PHPApp { try BuildOnce.value("PHPApp") { try make("php-app") } }

    /// The program with `hidden` (the tree's directory on disk) covered by `empty` in a mount
    /// namespace of its own: what it reads of the tree then comes from itself. Its stderr
    /// starts with the number of entries left visible there ("0").
    func runHiding(_ hidden: URL, under empty: URL, _ arguments: [String]) throws -> ProcessResult {
        try run("unshare", ["-m", "sh", "-c", "mount --bind \"$1\" \"$2\" && ls -A \"$2\" | wc -l >&2 && shift 2 && exec \"$@\"",
                            "sh", empty.path, hidden.path, program] + arguments,
                environment: ["XDG_CACHE_HOME": build.appendingPathComponent("cache").path], stdin: Data())
    }

    /// `php bin/app ARGS` in the fixture, as the php CLI runs it.
    func cli(_ arguments: [String], environment: [String: String?] = [:]) throws -> ProcessResult {
        try run("/usr/bin/php8.2", [tree.appendingPathComponent("bin/app").path] + arguments, environment: environment, stdin: Data())
    }
}

/// `script` in a mount namespace of its own whose /tmp is an empty tmpfs, with the test's
/// scratch root still at its path: a test may then plant /tmp/polybin-php-UID without touching
/// the machine's /tmp.
func inPrivateTmp(_ script: String, environment: [String: String?] = [:]) throws -> ProcessResult {
    let keep = TestEnvironment.temporaryRoot.path
    let setup = "set -e; mkdir -p /mnt && mount -t tmpfs polybin-keep /mnt && mkdir /mnt/keep && mount --bind '\(keep)' /mnt/keep; "
        + "mount -t tmpfs -o mode=1777 polybin-tmp /tmp; mkdir -p '\(keep)' && mount --bind /mnt/keep '\(keep)'; set +e; "
    return try run("/usr/bin/unshare", ["-m", "--", "/bin/sh", "-c", setup + script], environment: environment, stdin: Data())
}
