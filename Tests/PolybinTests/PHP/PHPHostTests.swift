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
}
