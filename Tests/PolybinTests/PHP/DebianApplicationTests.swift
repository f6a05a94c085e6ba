import Foundation
import Testing

/// Real PHP command-line applications that Debian packages, built with Hosts/php/php-host.mk
/// from their installed layout (an entry script in /usr/bin, a library tree in /usr/share/php;
/// no staging), against Debian's libphp. Each gives the php CLI's output and exit status for a
/// fixed list of its commands, with its files, /etc/php and the php binaries hidden (the
/// shared extension directory stays: the program loads the CLI's extensions from it).
@Suite(.serialized) struct DebianApplicationTests {
    /// PHP_CodeSniffer (php-codesniffer: /usr/bin/phpcs and 4 MB of PHP in
    /// /usr/share/php/PHP/CodeSniffer). Its report's "Time:" line is the one that differs.
    @Test func phpcsGivesTheCLIsResultsWithItsFilesHidden() throws {
        for file in ["/usr/bin/phpcs", "/usr/share/php/PHP/CodeSniffer/autoload.php"] where !FileManager.default.fileExists(atPath: file) {
            throw FixtureError("\(file) is missing: run tools/bootstrap (it installs php-codesniffer)")
        }
        let app = try PHPApp.make("php-app", name: "phpcs", variables: """
            PHP_APP_DIR   := /usr/share/php/PHP/CodeSniffer
            PHP_APP_ENTRY := /usr/bin/phpcs
            PHP_APP       := phpcs
            """)
        defer { try? FileManager.default.removeItem(at: app.build) }
        let work = try TestEnvironment.temporaryDirectory("polybin-phpcs")
        defer { try? FileManager.default.removeItem(at: work) }
        let source = work.appendingPathComponent("t.php").path
        try "<?php\nfunction  f( $a ){return $a ;}\nclass x {}\n".write(toFile: source, atomically: true, encoding: .utf8)
        let empty = work.appendingPathComponent("empty"), nothing = work.appendingPathComponent("nothing")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: nothing.path, contents: nil)
        // Everything of PHP and phpcs on disk but the extension directory.
        let hide = ["mount --bind '\(empty.path)' /usr/share/php/PHP/CodeSniffer", "mount --bind '\(empty.path)' /etc/php",
                    "mount --bind '\(nothing.path)' /usr/bin/phpcs", "mount --bind /bin/false /usr/bin/php8.2"].joined(separator: " && ")
        func withoutTime(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("Time: ") }.joined(separator: "\n")
        }
        let commands = [["-i"], ["--version"], ["-e", "--standard=PSR12"], ["--standard=PSR12", source],
                        ["--standard=PSR2", "--report=summary", source], ["--no-such-option"]]
        for arguments in commands {
            let cli = try run("/usr/bin/phpcs", arguments, cwd: work, stdin: Data())
            let ours = try run("unshare", ["-m", "sh", "-c", "\(hide) && { ls -A /usr/share/php/PHP/CodeSniffer; ls -A /etc/php; } | wc -l >&2 && exec \"$0\" \"$@\"", app.program] + arguments,
                               environment: ["XDG_CACHE_HOME": work.appendingPathComponent("cache").path], cwd: work, stdin: Data())
            #expect(ours.err.hasPrefix("0\n"), "phpcs \(arguments): not hidden: \(ours.err.prefix(300))")
            #expect(withoutTime(ours.out) == withoutTime(cli.out), "phpcs \(arguments): ours \(ours.out.prefix(600)) \(ours.err.prefix(300)) the CLI's \(cli.out.prefix(600))")
            #expect(ours.status == cli.status, "phpcs \(arguments): \(ours.status) against \(cli.status)")
        }
    }
}
