import Foundation
import Testing
import PolybinTestSupport

/// Real PHP command-line applications that Debian packages, built with Hosts/php/php-host.mk
/// from their installed layout (an entry script in /usr/bin, a library tree in /usr/share/php;
/// no staging), against Debian's libphp. Each gives the php CLI's output and exit status for a
/// fixed list of its commands, with its files, /etc/php and the php binaries hidden (the
/// shared extension directory stays: the program loads the CLI's extensions from it).
@Suite(.serialized) struct DebianApplicationTests {
    /// Builds `entry` with `trees`, then runs each of `commands` with the CLI and with the
    /// program, the latter with `trees`, `entry`, /etc/php and php8.2 hidden in a mount namespace.
    func expectTheCLIsResults(_ name: String, entry: String, trees: [String], commands: [[String]],
                              prepare: (URL) throws -> Void = { _ in }, comparable: (String) -> String = { $0 }) throws {
        for file in [entry] + trees where !FileManager.default.fileExists(atPath: file) {
            throw FixtureError("\(file) is missing: run tools/bootstrap (it installs php-codesniffer and composer)")
        }
        let app = try PHPApp.make("php-app", name: name, variables: """
            PHP_APP_DIR   := \(trees.joined(separator: " "))
            PHP_APP_ENTRY := \(entry)
            PHP_APP       := \(name)
            """)
        defer { try? FileManager.default.removeItem(at: app.build) }
        let work = try TestEnvironment.temporaryDirectory("polybin-\(name)")
        defer { try? FileManager.default.removeItem(at: work) }
        let empty = work.appendingPathComponent("empty"), nothing = work.appendingPathComponent("nothing")
        let project = work.appendingPathComponent("project")
        for dir in [empty, project] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        FileManager.default.createFile(atPath: nothing.path, contents: nil)
        try prepare(project)
        // Everything of PHP and the application on disk but the extension directory.
        let hide = (trees + ["/etc/php"]).map { "mount --bind '\(empty.path)' '\($0)'" }
            + ["mount --bind '\(nothing.path)' '\(entry)'", "mount --bind /bin/false /usr/bin/php8.2"]
        let check = (trees + ["/etc/php"]).map { "ls -A '\($0)'" }.joined(separator: "; ")
        let environment: [String: String?] = ["COMPOSER_HOME": work.appendingPathComponent("home").path]
        for arguments in commands {
            let cli = try run(entry, arguments, environment: environment, cwd: project, stdin: Data())
            var env = environment
            env["XDG_CACHE_HOME"] = work.appendingPathComponent("cache").path
            let ours = try run("unshare", ["-m", "sh", "-c", hide.joined(separator: " && ") + " && { \(check); } | wc -l >&2 && exec \"$0\" \"$@\"", app.program] + arguments,
                               environment: env, cwd: project, stdin: Data())
            #expect(ours.err.hasPrefix("0\n"), "\(name) \(arguments): not hidden: \(ours.err.prefix(300))")
            #expect(comparable(ours.out) == comparable(cli.out), "\(name) \(arguments): ours \(ours.out.prefix(600)) \(ours.err.prefix(300)) the CLI's \(cli.out.prefix(600))")
            #expect(ours.status == cli.status, "\(name) \(arguments): \(ours.status) against \(cli.status)")
        }
    }

    /// PHP_CodeSniffer (php-codesniffer: /usr/bin/phpcs and 4 MB of PHP in
    /// /usr/share/php/PHP/CodeSniffer; tokenizer, xmlwriter and simplexml). Its report's
    /// "Time:" line is the one that differs.
    @Test func phpcsGivesTheCLIsResultsWithItsFilesHidden() throws {
        try expectTheCLIsResults("phpcs", entry: "/usr/bin/phpcs", trees: ["/usr/share/php/PHP/CodeSniffer"],
                                 commands: [["-i"], ["--version"], ["-e", "--standard=PSR12"], ["--standard=PSR12", "t.php"],
                                            ["--standard=PSR2", "--report=summary", "t.php"], ["--no-such-option"]],
                                 prepare: { try "<?php\nfunction  f( $a ){return $a ;}\nclass x {}\n".write(to: $0.appendingPathComponent("t.php"), atomically: true, encoding: .utf8) },
                                 comparable: { $0.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("Time: ") }.joined(separator: "\n") })
    }

    /// Composer (composer: /usr/bin/composer and its libraries in /usr/share/php, Symfony's
    /// among them; 11 MB of PHP embedded whole), in a project directory with a composer.json.
    /// `show --platform` lists the extensions and their versions, the same for both.
    @Test func composerGivesTheCLIsResultsWithItsFilesHidden() throws {
        try expectTheCLIsResults("composer", entry: "/usr/bin/composer", trees: ["/usr/share/php"],
                                 commands: [["--version", "--no-ansi"], ["list", "--no-ansi"], ["validate", "--no-ansi"],
                                            ["show", "--platform", "--no-ansi"], ["licenses", "--no-ansi"], ["config", "--list", "--no-ansi"],
                                            ["no-such-command", "--no-ansi"]],
                                 prepare: { try #"{"name":"polybin/probe","description":"A probe","license":"MIT","require":{"php":">=8.1"}}"#.write(to: $0.appendingPathComponent("composer.json"), atomically: true, encoding: .utf8) })
    }
}
