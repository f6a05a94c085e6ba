import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

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

    /// The fatbin executed directly on this x86-64 machine, and through qemu-aarch64 by hand,
    /// with binfmt_misc running aarch64 programs: every strategy runs the build (the cache
    /// cold and warm), whichever flags the handler has. qemu 7.2 has no execveat, so the
    /// runner execs a path; without O the kernel hands qemu that path, which qemu opens only
    /// after exec has closed every close-on-exec descriptor.
    @Test func everyStrategyRunsThroughBinfmtWhateverTheHandlersFlags() throws {
        let arm = try ArmFixture.get()
        for flags in ["P", "OP", "FP", "F", ""] {
            let ran: Void? = try ArmBinfmt.with(flags: flags) {
                let cache = arm.dir.appendingPathComponent("cache-binfmt-\(flags)")
                try? FileManager.default.removeItem(at: cache)
                for strategy in ["cache", "cache", "memfd", "tmpfile", "cache,memfd,tmpfile"] {
                    let env = ["POLYBIN_EXEC": strategy, "POLYBIN_CACHE_DIR": cache.path]
                    for (label, program, args) in [("direct", arm.fatbin, ["level"]), ("qemu-aarch64", "qemu-aarch64", ["-cpu", "max", arm.fatbin, "level"])] {
                        let result = try run(program, args, environment: env)
                        #expect(result.status == 0 && result.out == "armv9-a+sve2\n" && result.err.isEmpty,
                                "flags \(flags), \(strategy), \(label): exit \(result.status), out \(result.out), err \(result.err)")
                    }
                }
                #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).count == 2, "one entry and its record")
            }
            if ran == nil { return }
        }
    }

    /// A handler whose interpreter cannot start: the kernel's refusal comes back to the
    /// runner before exec, which says so in one line with 123, never exits silently.
    @Test(arguments: ["cache", "memfd", "tmpfile"])
    func aHandlerThatCannotStartFailsWithOneLine(strategy: String) throws {
        let arm = try ArmFixture.get()
        let missing = arm.dir.appendingPathComponent("no-such-interpreter").path
        _ = try ArmBinfmt.with(flags: "P", interpreter: missing) {
            let result = try run("qemu-aarch64", ["-cpu", "max", arm.fatbin, "level"],
                                 environment: ["POLYBIN_EXEC": strategy, "POLYBIN_CACHE_DIR": arm.dir.appendingPathComponent("cache-missing").path])
            #expect(result.status == 123 && result.out.isEmpty, "\(strategy): exit \(result.status), \(result.err)")
            #expect(result.err.hasPrefix("polybin: could not execute armv9-a+sve2: \(strategy): the kernel refuses to run it"), "\(result.err)")
            #expect(result.err.filter { $0 == "\n" }.count == 1)
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
