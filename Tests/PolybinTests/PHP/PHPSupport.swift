import Foundation
import Testing

/// Examples/arcanist built once per test run into a temporary build directory, with the
/// polybin under test: `arc` against Debian's libphp8.2.so, and on demand `arc-static`
/// against the libphp.a of tools/build-static-php (built and cached when absent).
struct ArcanistBuild: Sendable {
    static let tree = "/usr/share/arcanist"
    static let example = TestEnvironment.root.appendingPathComponent("Examples/arcanist")
    let build: URL
    var arc: String { build.appendingPathComponent("arc").path }
    var arcStatic: String { build.appendingPathComponent("arc-static").path }

    static let shared: Result<ArcanistBuild, Error> = Result {
        for file in [tree + "/bin/arc", "/usr/bin/php8.2", "/usr/lib/libphp8.2.so", "/usr/bin/strace"] where !FileManager.default.fileExists(atPath: file) {
            throw FixtureError("\(file) is missing: run tools/bootstrap (it installs arcanist, php8.2-cli, libphp8.2-embed, php8.2-dev and strace)")
        }
        let build = try TestEnvironment.temporaryDirectory("polybin-arcanist")
        try mustRun("make", ["-C", example.path, "POLYBIN=\(TestEnvironment.polybin)", "POLYBIN_BUILDDIR=\(build.path)"])
        return ArcanistBuild(build: build)
    }

    static func get() throws -> ArcanistBuild { try shared.get() }

    static let sharedStatic: Result<ArcanistBuild, Error> = Result {
        let built = try get()
        try mustRun("make", ["-C", example.path, "POLYBIN=\(TestEnvironment.polybin)", "POLYBIN_BUILDDIR=\(built.build.path)", "static"])
        return built
    }

    static func getStatic() throws -> ArcanistBuild { try sharedStatic.get() }

    /// A directory holding `name` as a link to `program`: how the host is run as `php` or `arcanist`.
    static func linked(_ program: String, as name: String) throws -> String {
        let dir = try TestEnvironment.temporaryDirectory("polybin-php-link")
        let link = dir.appendingPathComponent(name).path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: program)
        return link
    }
}

/// The summary line counts of `arc unit`'s output: "PASS", "FAIL", "SKIP" and the like.
func unitCounts(_ output: String) -> [String: Int] {
    var counts: [String: Int] = [:]
    for line in output.split(separator: "\n") {
        // Some tests turn colour on half way: drop the escape sequences.
        let plain = String(line).replacing(/\x{1B}\[[0-9;]*m/, with: "")
        let words = plain.split(separator: " ", omittingEmptySubsequences: true)
        guard let first = words.first else { continue }
        let word = String(first).filter(\.isLetter)
        if ["PASS", "FAIL", "SKIP", "BROKEN", "UNSOUND"].contains(word) { counts[word, default: 0] += 1 }
    }
    return counts
}
