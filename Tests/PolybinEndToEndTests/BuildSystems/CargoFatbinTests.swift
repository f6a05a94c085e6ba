import Foundation
import Testing
import PolybinTestSupport

/// Examples/rust-fatbin: a crate built by cargo at each level through polybin.mk's
/// build-command mode, packed into a fatbin. Offline, with its own CARGO_HOME.
@Suite(.serialized) struct CargoFatbinTests {
    /// Examples/rust-fatbin and Integrations/polybin.mk in the checkout's layout.
    struct Workspace {
        let scratch: Scratch
        var example: URL { scratch.url("Examples/rust-fatbin") }
        var build: URL { scratch.build }
        var fatbin: String { build.appendingPathComponent("rust-fatbin").path }

        init() throws {
            scratch = try Scratch("cargo", copying: ["Integrations/polybin.mk"]
                + ["Makefile", "Cargo.toml", "Cargo.lock", "src"].map { "Examples/rust-fatbin/\($0)" })
        }

        func remove() { scratch.remove() }

        @discardableResult
        func make(sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
            BuildSystems.succeeded(try run("make", ["--no-print-directory", "-j2", "-C", example.path, "POLYBIN=\(TestEnvironment.polybin)",
                                                    "POLYBIN_BUILDDIR=\(build.path)", "CARGO_FLAGS=--offline"],
                                           environment: ["POLYBIN_RUNNER": TestEnvironment.runnerArchive,
                                                         "CARGO_HOME": scratch.path("cargo-home")]),
                                   "make", sourceLocation: sourceLocation)
        }

        func runFatbin(_ arguments: [String] = []) throws -> ProcessResult { try scratch.runFatbin(fatbin, arguments) }

        func levelBuild(_ level: String) -> String { build.appendingPathComponent("\(level)/rust-fatbin").path }
    }

    /// The instructions of the hot loop's function in a build.
    func hotLoop(_ program: String) throws -> String {
        let listing = try run("objdump", ["-d", "--no-show-raw-insn", program])
        #expect(listing.status == 0, "objdump: \(listing.err)")
        let lines = listing.out.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.contains("rust_fatbin3dot") && $0.hasSuffix(">:") }, "no dot function in \(program)")
        return lines[start...].prefix { !$0.isEmpty }.joined(separator: "\n")
    }

    @Test func cargoBuildsEachLevelWithItsTargetCPUAndTheFatbinRunsTheHostLevel() throws {
        guard BuildSystems.present(["make", "cargo", "objdump"]) else { return }
        let workspace = try Workspace()
        defer { workspace.remove() }
        try workspace.make()

        // Each level is its own cargo build, compiled for that level.
        let host = try hostLevel()
        var checksums: Set<String> = []
        for level in BuildSystems.levels {
            #expect(FileManager.default.fileExists(atPath: workspace.build.appendingPathComponent("cargo-\(level)/release/rust-fatbin").path))
            #expect(try workspace.scratch.extract(workspace.fatbin, level) == Data(contentsOf: URL(fileURLWithPath: workspace.levelBuild(level))))
            let extracted = workspace.scratch.path("extracted-\(level)")
            guard BuildSystems.levels.firstIndex(of: level)! <= BuildSystems.levels.firstIndex(of: host)! else { continue }
            let output = try run(extracted)
            #expect(output.status == 0)
            let lines = output.out.split(separator: "\n")
            #expect(lines.first.map(String.init)?.hasPrefix("level: \(level) ") == true, "\(level) build printed \(output.out)")
            if let last = lines.last { checksums.insert(String(last)) }
        }
        #expect(checksums.count == 1, "the levels disagree: \(checksums)")

        // The hot loop is vectorized: 256-bit multiplies at v3, none at the baseline (no AVX).
        #expect(try hotLoop(workspace.levelBuild("x86-64-v3")).range(of: #"vpmulld[^\n]*%ymm"#, options: .regularExpression) != nil)
        #expect(try !hotLoop(workspace.levelBuild("x86-64")).contains("ymm"))

        // The fatbin runs the best build this machine supports, and says so.
        let run = try workspace.runFatbin(["--level"])
        #expect(run.status == 0, "fatbin: \(run.err)")
        #expect(run.out == "\(try BuildSystems.expectedLevel(of: BuildSystems.levels))\n")
    }

    @Test func anUnchangedCrateIsNotRepackedAndAnEditedOneIs() throws {
        guard BuildSystems.present(["make", "cargo"]) else { return }
        let workspace = try Workspace()
        defer { workspace.remove() }
        try workspace.make()
        let packed = try modified(workspace.fatbin)
        let before = try workspace.runFatbin()
        #expect(before.out.contains("checksum: "))

        try workspace.make()
        #expect(try modified(workspace.fatbin) == packed, "an unchanged crate was repacked")

        let main = workspace.example.appendingPathComponent("src/main.rs")
        let source = try String(contentsOf: main, encoding: .utf8)
        try source.replacingOccurrences(of: "println!(\"checksum: ", with: "println!(\"sum: ")
            .write(to: main, atomically: true, encoding: .utf8)
        try workspace.make()
        let after = try workspace.runFatbin()
        #expect(after.status == 0)
        #expect(after.out == before.out.replacingOccurrences(of: "checksum: ", with: "sum: "))
    }
}
