import Foundation
import Testing
@testable import PolybinKit

/// The aarch64 runner executing its builds under qemu-user, and refusing a corrupt payload.
@Suite struct ArmExecTests {
    /// qemu-aarch64 started by hand does not follow exec: the runner's exec goes to the host
    /// kernel, which runs the build through binfmt when a handler is registered, and otherwise
    /// refuses it. Either it works, or one line naming every place tried and exit 123.
    @Test(arguments: ["cache", "memfd", "tmpfile"])
    func execUnderQemuWorksOrFailsWithOneLine(strategy: String) throws {
        let arm = try ArmFixture.get()
        let result = try run("qemu-aarch64", ["-cpu", "max", arm.fatbin, "level"],
                             environment: ["POLYBIN_EXEC": strategy, "POLYBIN_CACHE_DIR": arm.dir.appendingPathComponent("cache-qemu").path])
        if result.status == 0 {
            #expect(result.out == "armv9-a+sve2\n" && result.err.isEmpty)
        } else {
            #expect(result.status == 123)
            #expect(result.err.hasPrefix("polybin: could not execute armv9-a+sve2: \(strategy): "))
            #expect(result.err.filter { $0 == "\n" }.count == 1)
            #expect(result.out.isEmpty)
        }
    }

    @Test func corruptPayloadNeverRunsAndSays121() throws {
        let arm = try ArmFixture.get()
        // One build: every stored byte is the build that runs, so every flip must be caught.
        let single = arm.dir.appendingPathComponent("single").path
        try ArmFixture.build(single, flavors: ["armv8-a=\(arm.builds["armv8-a"]!)"])
        let bytes = try Files.read(single)
        let bundle = try LoadedBundle(path: single)
        let start = bundle.offsetInFile, end = start + Int(bundle.byteCount)
        // Header, index, names and stored builds: one flipped bit each, never run.
        for offset in stride(from: start, to: end, by: max(1, (end - start) / 12)) {
            var damaged = bytes
            damaged[offset] ^= 0x10
            let path = arm.dir.appendingPathComponent("damaged").path
            try Files.write(damaged, to: path, executable: true)
            let result = try run("qemu-aarch64", ["-cpu", "max", path, "level"],
                                 environment: ["POLYBIN_CACHE_DIR": arm.dir.appendingPathComponent("cache-corrupt").path])
            #expect(result.status == 121, "bit flipped at \(offset - start): \(result.status) \(result.err)")
            #expect(result.out.isEmpty)
            #expect(result.err.hasPrefix("polybin: corrupt payload: "))
        }
    }
}
