import CPolybin
import Foundation
import Glibc
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Where the parts of the bundle linked into a fatbin lie, in file offsets.
struct BundleLayout {
    struct Stored { let name: String; let reference: String?; let range: Range<Int> }
    let start: Int
    let size: Int
    /// The linked `polybin_bundle_size`, which the runner passes to pb_bundle_open.
    let sizeField: Int
    let header: Range<Int>, index: Range<Int>, names: Range<Int>, padding: Range<Int>
    let entries: [Stored]

    init(fatbin: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fatbin)))
        let start = try LoadedBundle(path: fatbin).offsetInFile
        func le<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            (0..<MemoryLayout<T>.size).reduce(T(0)) { $0 | T(bytes[start + at + $1]) << (8 * $1) }
        }
        let size = Int(le(32, UInt64.self))
        let sizeField = start + (size + 7) / 8 * 8
        guard sizeField + 8 <= bytes.count, le(sizeField - start, UInt64.self) == UInt64(size) else {
            throw FixtureError("\(fatbin): the linked bundle size is not right after the bundle")
        }
        self.start = start
        self.size = size
        self.sizeField = sizeField
        let count = Int(le(20, UInt32.self)), namesOffset = Int(le(40, UInt64.self))
        let namesEnd = namesOffset + Int(le(48, UInt64.self)), dataOffset = Int(le(56, UInt64.self))
        header = start..<(start + 128)
        index = (start + 128)..<(start + namesOffset)
        names = (start + namesOffset)..<(start + namesEnd)
        padding = (start + namesEnd)..<(start + dataOffset)
        var found: [(String, UInt32, Range<Int>)] = []
        for i in 0..<count {
            let e = 128 + i * 128
            let nameStart = start + namesOffset + Int(le(e, UInt32.self))
            let name = String(decoding: bytes[nameStart..<(nameStart + Int(le(e + 4, UInt32.self)))], as: UTF8.self)
            let dataStart = start + dataOffset + Int(le(e + 16, UInt64.self))
            found.append((name, le(e + 12, UInt32.self), dataStart..<(dataStart + Int(le(e + 24, UInt64.self)))))
        }
        entries = found.map { entry in
            Stored(name: entry.0, reference: entry.1 == PB_NO_REF ? nil : found[Int(entry.1)].0, range: entry.2)
        }
    }

    /// The flavors that read `range`: every one for metadata, else those whose stored bytes or
    /// whose reference's stored bytes it touches.
    func affected(by range: Range<Int>) -> Set<String> {
        let touched = Set(entries.filter { $0.range.overlaps(range) }.map(\.name))
        if range.overlaps(header) || range.overlaps(index) || range.overlaps(names) || range.overlaps(padding) {
            return Set(entries.map(\.name))
        }
        return touched.union(entries.filter { $0.reference.map(touched.contains) ?? false }.map(\.name))
    }
}

/// A copy of a fatbin changed in place and put back after each run. No descriptor stays open
/// for writing while it runs: the kernel refuses to execute such a file (ETXTBSY).
final class Victim {
    let path: String
    let original: [UInt8]

    init(copying fatbin: String, to path: String) throws {
        original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fatbin)))
        self.path = path
        _ = FileManager.default.createFile(atPath: path, contents: Data(original), attributes: [.posixPermissions: 0o755])
    }

    private func write<C: Collection>(_ bytes: C, at offset: Int) where C.Element == UInt8 {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        _ = Array(bytes).withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        close(fd)
    }

    /// Writes `bytes` at `offset`, runs `body`, and restores the original bytes.
    func with<T>(_ bytes: [UInt8], at offset: Int, _ body: () throws -> T) rethrows -> T {
        write(bytes, at: offset)
        defer { write(original[offset..<(offset + bytes.count)], at: offset) }
        return try body()
    }
}

func littleEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

/// TESTING.md, "Integrity": damaged payloads are refused with exit 121, never run.
@Suite struct IntegrityTests {
    /// Runs the canary with its address space (128 MiB) and file sizes (64 MiB) bounded: a
    /// runner that allocated what a lying size claims dies or fails here, and the test sees it,
    /// instead of taking the machine's memory. (The child's ru_maxrss cannot be used: after
    /// posix_spawn it includes the test process's own.)
    static func runCanary(_ path: String, flavor: String?, exec: String = "memfd", cache: URL) throws -> Outcome {
        var env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": exec])
        env["POLYBIN_FLAVOR"] = flavor
        return try launch("/usr/bin/prlimit", ["--as=\(128 << 20)", "--fsize=\(64 << 20)", path], environment: env, limit: 60)
    }

    /// The run either refused the payload as corrupt or ran a build the damage did not touch.
    static func expectSafe(_ result: Outcome, affected: Set<String>, forced: String?, _ label: String) {
        #expect(!result.crashed, "\(label): \(result)")
        if result.stdout.isEmpty {
            #expect(result.status == 121, "\(label): \(result)")
            let lines = result.err.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("polybin: corrupt payload: "), "\(label): \(result.err)")
            return
        }
        let ran = ReliabilityFixtures.levels.first { result.out == ReliabilityFixtures.canaryMarker($0) }
        #expect(ran != nil && !affected.contains(ran!) && result.status == 0, "\(label): ran a damaged build: \(result.out)")
        #expect(forced == nil || ran == forced, "\(label): ran \(ran ?? "?") instead of the forced \(forced!)")
    }

    @Test func corruptionSweepNeverRunsADamagedBuild() throws {
        guard ReliabilityFixtures.require("prlimit", package: "util-linux") else { return }
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let layout = try BundleLayout(fatbin: fatbin)
        let scratch = try ReliabilityFixtures.scratch("sweep")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let victim = try Victim(copying: fatbin, to: scratch.appendingPathComponent("victim").path)

        var regions: [(String, Range<Int>)] = [("header", layout.header), ("index", layout.index), ("names", layout.names)]
        if !layout.padding.isEmpty { regions.append(("padding", layout.padding)) }
        regions += layout.entries.map { ("stored \($0.name)", $0.range) }
        var mutations: [(label: String, offset: Int, bytes: [UInt8])] = []
        for (name, region) in regions {
            let step = max(1, region.count / 40)
            for position in stride(from: region.lowerBound, to: region.upperBound, by: step) {
                mutations.append(("\(name): bit flip at +\(position - layout.start)", position, [victim.original[position] ^ UInt8(1 << (position % 8))]))
            }
            for (lo, length) in [(region.lowerBound, 16), (region.lowerBound + region.count / 2, 16), (region.upperBound - 16, 16), (region.lowerBound, region.count)] {
                let from = max(region.lowerBound, lo), to = min(region.upperBound, from + length)
                if from < to, victim.original[from..<to].contains(where: { $0 != 0 }) {
                    mutations.append(("\(name): zeroed [\(from - layout.start), \(to - layout.start))", from, [UInt8](repeating: 0, count: to - from)))
                }
            }
        }
        var lengths = [0, 1, 8, 64, 127, 128, layout.index.upperBound - layout.start, layout.names.upperBound - layout.start,
                       layout.padding.upperBound - layout.start, layout.size - 1]
        for entry in layout.entries {
            lengths += [entry.range.lowerBound + 1, entry.range.lowerBound + entry.range.count / 2, entry.range.upperBound - 1].map { $0 - layout.start }
        }
        for length in Set(lengths) where length < layout.size {
            mutations.append(("truncated to \(length)", layout.sizeField, littleEndian(UInt64(length))))
        }
        for extra in [1, 8, 64] {
            mutations.append(("\(extra) bytes appended", layout.sizeField, littleEndian(UInt64(layout.size + extra))))
        }

        let original = try LoadedBundle(bytes: Array(victim.original[layout.start..<(layout.start + layout.size)]), path: fatbin)
        var runs = 0, inert = 0
        for (i, mutation) in mutations.enumerated() {
            var touched = mutation.label.hasPrefix("truncated") || mutation.label.contains("appended")
                ? Set(layout.entries.map(\.name)) : layout.affected(by: mutation.offset..<(mutation.offset + mutation.bytes.count))
            if mutation.label.hasPrefix("stored") {
                // Some stored bits do not change what decodes (zstd's unused frame-header bit):
                // a flavor whose damaged bytes still decode to the very same build may run it.
                var bytes = Array(victim.original[layout.start..<(layout.start + layout.size)])
                bytes.replaceSubrange((mutation.offset - layout.start)..<(mutation.offset - layout.start + mutation.bytes.count), with: mutation.bytes)
                let damaged = try LoadedBundle(bytes: bytes, path: "damaged")
                for entry in original.entries where touched.contains(entry.name) {
                    if let same = try? damaged.content(of: damaged.entry(named: entry.name)!), same == (try original.content(of: entry)) {
                        touched.remove(entry.name)
                        inert += 1
                    }
                }
            }
            // A cold cache now and then: a damaged build must not reach it either.
            let exec = i % 5 == 0 ? "cache,memfd" : "memfd"
            let cache = scratch.appendingPathComponent("cache-\(i)")
            try victim.with(mutation.bytes, at: mutation.offset) {
                for flavor in [nil] + touched.sorted() as [String?] {
                    runs += 1
                    let result = try Self.runCanary(victim.path, flavor: flavor, exec: exec, cache: cache)
                    Self.expectSafe(result, affected: touched, forced: flavor, "\(mutation.label), POLYBIN_FLAVOR=\(flavor ?? "unset")")
                }
            }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? [] where name.count == 64 {
                let content = [UInt8](try Data(contentsOf: cache.appendingPathComponent(name)))
                #expect(SHA256.hex(SHA256.digest(content)) == name, "\(mutation.label): cache entry \(name) does not hold what its name says")
            }
            try? FileManager.default.removeItem(at: cache)
        }
        let unharmed = try Self.runCanary(victim.path, flavor: nil, cache: scratch)
        let host = try ReliabilityFixtures.hostLevel()
        #expect(unharmed.status == 0 && unharmed.out == ReliabilityFixtures.canaryMarker(host))
        print("IntegrityTests: \(mutations.count) corrupted fatbins, \(runs) runs, \(inert) damaged builds that still decode to themselves")
    }

    @Test func bytesAppendedOrCutBeforeLinkingAreRefused() throws {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let scratch = try ReliabilityFixtures.scratch("relink")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let layout = try BundleLayout(fatbin: fatbin)
        let bundle = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fatbin)))[layout.start..<(layout.start + layout.size)]
        let cases: [(String, [UInt8])] = [("appended", Array(bundle) + Array(repeating: 0x5a, count: 100)),
                                          ("truncated", Array(bundle.dropLast(100)))]
        for (label, bytes) in cases {
            let bundlePath = scratch.appendingPathComponent("\(label).bundle").path
            let object = scratch.appendingPathComponent("\(label).o").path, output = scratch.appendingPathComponent(label).path
            try Data(bytes).write(to: URL(fileURLWithPath: bundlePath))
            // `polybin object` takes only a bundle file exactly as packed.
            let refused = try run(TestEnvironment.polybin, ["object", bundlePath, "-o", object])
            #expect(refused.status == 1 && refused.err.hasPrefix("polybin: \(bundlePath): ") && !FileManager.default.fileExists(atPath: object),
                    "\(label): \(refused)")
            // An object made some other way: `polybin link` refuses it with one line...
            try Files.write(ObjectEmitter(section: Fatbin.payloadSection).object(for: bytes), to: object)
            let linked = try run(TestEnvironment.polybin, ["link", object, "-o", output, "--runner", TestEnvironment.runnerArchive])
            #expect(linked.status == 1 && linked.err.hasPrefix("polybin: \(object): corrupt payload: ") && !FileManager.default.fileExists(atPath: output),
                    "polybin link: \(linked.err)")
            // ...and linked by hand as polybin link would, the runner refuses a bundle whose
            // size disagrees with the size linked with it.
            let cc = try run("cc", ["-static", "-s", "-Wl,-z,noexecstack", "-Wl,--gc-sections",
                                    "-Wl,--section-start=\(Fatbin.payloadSection)=0x\(String(Fatbin.payloadAddress, radix: 16))",
                                    "-o", output, object, TestEnvironment.runnerArchive, "-l:libzstd.a"])
            #expect(cc.status == 0, "cc: \(cc.err)")
            let result = try Self.runCanary(output, flavor: nil, cache: scratch)
            #expect(result.status == 121 && result.stdout.isEmpty && result.err.hasPrefix("polybin: corrupt payload: "), "\(label): \(result)")
        }
    }

    /// Writes a header or index field and recomputes the meta hash: a crafted bundle, which
    /// only the checks after the hash can refuse.
    static func craft(_ original: [UInt8], layout: BundleLayout, field: Int, value: UInt64, width: Int = 8) -> [UInt8] {
        var bundle = Array(original[layout.start..<(layout.start + layout.size)])
        for i in 0..<width { bundle[field + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        BundleDigest.rehashMeta(&bundle)
        return bundle
    }

    @Test func lyingSizesAreRefusedBeforeAnyLargeAllocation() throws {
        guard ReliabilityFixtures.require("prlimit", package: "util-linux") else { return }
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let layout = try BundleLayout(fatbin: fatbin)
        let scratch = try ReliabilityFixtures.scratch("lying")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let victim = try Victim(copying: fatbin, to: scratch.appendingPathComponent("victim").path)
        let host = try ReliabilityFixtures.hostLevel()
        let chosen = layout.entries.firstIndex { $0.name == host }!, reference = layout.entries.firstIndex { $0.reference == nil }!
        let real = UInt64(victim.original.count)
        func field(_ entry: Int, _ offset: Int) -> Int { 128 + entry * 128 + offset }
        let storedSize = UInt64(layout.entries[chosen].range.count)
        let cases: [(String, Int, UInt64)] = [
            ("size 0", field(chosen, 32), 0),
            ("size 2^63", field(chosen, 32), 1 << 63),
            ("size 2^40", field(chosen, 32), 1 << 40),
            ("size 2^32 + 1", field(chosen, 32), (1 << 32) + 1),
            ("size one more than the frame", field(chosen, 32), UInt64(try LoadedBundle(path: fatbin).entries[chosen].size) + 1),
            ("reference size 2^40", field(reference, 32), 1 << 40),
            ("stored size 0", field(chosen, 24), 0),
            ("stored size one short", field(chosen, 24), storedSize - 1),
            ("stored size 2^63", field(chosen, 24), 1 << 63),
            ("stored size past the end", field(chosen, 24), real),
            ("data offset past the end", field(chosen, 16), real),
            ("data offset 2^63", field(chosen, 16), 1 << 63),
            ("names size 2^63", 48, 1 << 63),
            ("data size 2^63", 64, 1 << 63),
            ("bundle size 2^63", 32, 1 << 63),
            ("entry count 2^31", 20, 1 << 31),
        ]
        var runs = 0
        for (label, offset, value) in cases {
            let width = offset == 20 ? 4 : 8
            let crafted = Self.craft(victim.original, layout: layout, field: offset, value: value, width: width)
            try victim.with(crafted, at: layout.start) {
                for exec in ["memfd", "tmpfile", "cache"] {
                    runs += 1
                    let result = try Self.runCanary(victim.path, flavor: nil, exec: exec, cache: scratch.appendingPathComponent("cache"))
                    #expect(result.status == 121 && result.signal == nil && result.stdout.isEmpty, "\(label), \(exec): \(result)")
                }
            }
        }
        print("IntegrityTests: \(cases.count) lying sizes, \(runs) runs")
    }

    @Test func frameHeaderClaimingATerabyteIsRefusedBeforeAllocating() throws {
        guard ReliabilityFixtures.require("prlimit", package: "util-linux") else { return }
        let scratch = try ReliabilityFixtures.scratch("frame-lie")
        defer { try? FileManager.default.removeItem(at: scratch) }
        // A valid zstd frame header declaring 2^40 bytes, then one 1-byte RLE block: the entry,
        // the header and the meta hash all agree; only the blocks show the size is a lie.
        let frame: [UInt8] = [0x28, 0xb5, 0x2f, 0xfd, 0xe0] + littleEndian(1 << 40) + [0x0b, 0x00, 0x00, 0x00]
        var writer = BundleWriter(kind: .fatbin, execOrder: 0)
        writer.entries.append(.init(name: "x86-64", codec: .zstd, size: 1 << 40, sha256: [UInt8](repeating: 7, count: 32), stored: frame))
        let object = scratch.appendingPathComponent("lie.o").path, fatbin = scratch.appendingPathComponent("lie").path
        try Files.write(ObjectEmitter(section: Fatbin.payloadSection).object(for: try writer.serialize()), to: object)
        try Linker(runnerArchive: TestEnvironment.runnerArchive).link(payloadObject: object, output: fatbin)
        for exec in ["memfd", "tmpfile", "cache"] {
            let result = try Self.runCanary(fatbin, flavor: nil, exec: exec, cache: scratch.appendingPathComponent("cache"))
            #expect(result.status == 121 && result.signal == nil, "\(exec): \(result)")
            #expect(result.err == "polybin: corrupt payload: x86-64: bundle entry data does not decode\n", "\(exec): \(result.err)")
        }
        let extract = try run("/usr/bin/prlimit", ["--as=\(4 << 30)", TestEnvironment.polybin, "extract", fatbin,
                                                   "--flavor", "x86-64", "-o", scratch.appendingPathComponent("out").path])
        #expect(extract.status == 1 && extract.err.hasSuffix("x86-64: bundle entry data does not decode\n"), "polybin extract: \(extract.err.suffix(300))")
    }

    @Test func survivesStripOrSaysThePayloadIsGone() throws {
        guard ReliabilityFixtures.require("strip", package: "binutils"), ReliabilityFixtures.require("objcopy", package: "binutils") else { return }
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let host = try ReliabilityFixtures.hostLevel()
        let scratch = try ReliabilityFixtures.scratch("strip")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let tools: [[String]] = [["strip"], ["strip", "--strip-all"], ["strip", "--strip-debug"], ["strip", "--strip-unneeded"],
                                 ["objcopy", "--remove-section", ".comment"], ["objcopy", "--strip-all"],
                                 ["strip", "--remove-section=.polybin"], ["objcopy", "--remove-section", ".polybin"]]
        for (i, tool) in tools.enumerated() {
            let copy = scratch.appendingPathComponent("stripped-\(i)").path
            try FileManager.default.copyItem(atPath: fatbin, toPath: copy)
            let stripped = try run(tool[0], Array(tool.dropFirst()) + [copy])
            #expect(stripped.status == 0, "\(tool.joined(separator: " ")): \(stripped.err)")
            let result = try Self.runCanary(copy, flavor: nil, cache: scratch)
            let label = tool.joined(separator: " ")
            if tool.last!.hasSuffix(".polybin") {
                #expect(result.status == 121 && result.err.contains("payload is gone"), "\(label): \(result)")
            } else {
                #expect(result.status == 0 && result.out == ReliabilityFixtures.canaryMarker(host), "\(label): \(result)")
            }
        }
    }

    @Test func packingFromDifferentDirectoriesIsByteIdentical() throws {
        let scratch = try ReliabilityFixtures.scratch("reproducible")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let builds = try ReliabilityFixtures.levels.map { try ReliabilityFixtures.canary($0) }
        let first = scratch.appendingPathComponent("one/builds"), second = scratch.appendingPathComponent("two/elsewhere/deeper")
        for dir in [first, second] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        for (level, build) in zip(ReliabilityFixtures.levels, builds) {
            try FileManager.default.copyItem(atPath: build, toPath: first.appendingPathComponent(level).path)
            try FileManager.default.copyItem(atPath: build, toPath: second.appendingPathComponent("copy-of-\(level).bin").path)
        }
        // Relative paths from one directory, absolute paths to differently named copies from another.
        let packs: [(URL, [String])] = [
            (scratch.appendingPathComponent("one"), ReliabilityFixtures.levels.map { "\($0)=builds/\($0)" }),
            (scratch, ReliabilityFixtures.levels.map { "\($0)=\(second.appendingPathComponent("copy-of-\($0).bin").path)" }),
        ]
        var bundles: [Data] = [], fatbins: [Data] = []
        for (i, (cwd, flavors)) in packs.enumerated() {
            let flags = flavors.flatMap { ["--flavor", $0] }
            let bundle = scratch.appendingPathComponent("out-\(i).bundle").path, fatbin = scratch.appendingPathComponent("out-\(i)").path
            let pack = try run(TestEnvironment.polybin, ["pack", "-o", bundle] + flags, cwd: cwd)
            let build = try run(TestEnvironment.polybin, ["build", "-o", fatbin, "--runner", TestEnvironment.runnerArchive] + flags, cwd: cwd)
            #expect(pack.status == 0 && build.status == 0, "\(pack.err)\(build.err)")
            bundles.append(try Data(contentsOf: URL(fileURLWithPath: bundle)))
            fatbins.append(try Data(contentsOf: URL(fileURLWithPath: fatbin)))
        }
        #expect(bundles[0] == bundles[1], "bundles differ")
        #expect(fatbins[0] == fatbins[1], "fatbins differ")
    }
}
