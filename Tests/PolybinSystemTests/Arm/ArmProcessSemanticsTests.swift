import Foundation
import Glibc
import Testing
import PolybinTestSupport

/// ProcessSemanticsTests' checks for an aarch64 fatbin of the same probe (Tests/Fixtures/probe.c
/// cross-compiled at the four levels), started two ways on this x86-64 machine: by
/// `qemu-aarch64 -cpu max` by hand, and directly through binfmt_misc. Either way the runner's
/// exec reaches the build through binfmt_misc, so a handler is registered for the test
/// (ArmBinfmt), with P and without O: the handler under which the runner must keep memfd
/// and tmpfile descriptors open for qemu, the one difference a run through the fatbin may show.
@Suite struct ArmProcessSemanticsTests {
    static let strategies = ["cache", "memfd", "tmpfile"]
    /// What qemu-aarch64 -cpu max picks from the four levels (ArmCPUMatrixTests checks it).
    static let picked = "armv9-a+sve2"

    static func build(_ level: String) throws -> String {
        let optimisation = ["armv8-a": "-O0", "armv8.2-a+dotprod+fp16": "-O1", "armv8.4-a+sve": "-O2"][level] ?? "-O3"
        return try ReliabilityFixtures.once("arm-probe.\(level)") { output in
            try ArmFixture.require(ArmFixture.gcc)
            let result = try run(ArmFixture.gcc, ["-static", optimisation, "-march=\(level)", "-o", output,
                                                  ReliabilityFixtures.sources.appendingPathComponent("probe.c").path])
            guard result.status == 0 else { throw FixtureError("\(ArmFixture.gcc) probe.c for \(level): \(result.err)") }
        }
    }

    static func fatbin() throws -> String {
        let flavors = try ArmFixture.levels.map { "\($0)=\(try build($0))" }
        return try ReliabilityFixtures.once("arm-probe-fatbin") { output in try ArmFixture.build(output, flavors: flavors) }
    }

    static func qemu() throws -> String {
        try ArmFixture.require("qemu-aarch64")
        return ["/usr/bin/qemu-aarch64", "/usr/local/bin/qemu-aarch64"].first { FileManager.default.isExecutableFile(atPath: $0) }!
    }

    /// Runs `check` for each way of starting and each strategy, under the test handler.
    func each(_ check: (ProcessSemantics, String) throws -> Void) throws {
        let subject = ProcessSemantics(fatbin: try Self.fatbin(), direct: try Self.build(Self.picked), execFd: { $0 != "cache" },
                                        environmentInOrder: false)
        var byHand = subject
        byHand.launcher = [try Self.qemu(), "-cpu", "max"]
        let ran: Void? = try ArmBinfmt.with(flags: "P") {
            for semantics in [byHand, subject] {    // qemu-aarch64 by hand, then through binfmt_misc
                for strategy in Self.strategies {
                    try check(semantics, strategy)
                }
            }
        }
        _ = ran
    }

    @Test func argvEnvCwdUmaskAndFdsPassThroughByteForByte() throws {
        try each { try $0.argvEnvCwdUmaskAndFdsPassThroughByteForByte($1) }
    }

    @Test func tenThousandArgumentsPassThrough() throws {
        try each { try $0.tenThousandArgumentsPassThrough($1) }
    }

    @Test func exitCodesAndDeathsBySignalAreThePayloads() throws {
        try each { try $0.exitCodesAndDeathsBySignalAreThePayloads($1) }
    }

    @Test func signalsSentToTheCallersPIDReachThePayloadsHandlers() throws {
        try each { try $0.signalsSentToTheCallersPIDReachThePayloadsHandlers($1) }
    }

    @Test func runnerLeavesStdoutAndStdinToThePayload() throws {
        try each { try $0.runnerLeavesStdoutAndStdinToThePayload($1) }
    }

    /// argv[0] is the caller's (binfmt_misc's P flag and qemu's -binfmt-P name carry it); a
    /// cache build's /proc/self/exe is its entry, as on x86-64; no build sees the fatbin's path.
    @Test func payloadSeesTheCallersArgv0AndTheDocumentedExe() throws {
        let fatbin = try Self.fatbin()
        let scratch = try ReliabilityFixtures.scratch("arm-view")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = scratch.appendingPathComponent("cache")
        let ran: Void? = try ArmBinfmt.with(flags: "P") {
            for strategy in Self.strategies {
                let env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": strategy])
                let dump = try Child(fatbin, argv: [Array("my-tool".utf8), Array("dump".utf8)],
                                     environment: env.map { Array("\($0.key)=\($0.value)".utf8) }).wait()
                #expect(dump.status == 0, "\(strategy): \(dump)")
                #expect(meta(dump.out, "argv0") == "7 " + "my-tool".utf8.map { String(format: "%02x", $0) }.joined(), "\(strategy): argv[0]")
                let exe = meta(dump.out, "exe") ?? ""
                #expect(exe != fatbin)
                if strategy == "cache" {
                    #expect(exe.hasPrefix(cache.path + "/") && exe.count == cache.path.count + 65, "cache exe \(exe)")
                    #expect(meta(dump.out, "comm") == String(exe.suffix(64).prefix(15)))
                }
            }
        }
        _ = ran
    }
}
