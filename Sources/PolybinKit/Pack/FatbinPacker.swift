import CPolybin
import Dispatch

/// Packs the builds of a fatbin into one bundle: identical builds stored once, the reference
/// build zstd-compressed, every other build a zstd delta against it. Builds are mapped, not
/// copied, and each is compressed once (docs/packing.md has the costs).
public struct FatbinPacker {
    /// Which build the others are stored as deltas against.
    public enum Reference: Equatable, Sendable {
        /// The cheaper of the two lowest-ranked builds as reference, by an estimate at level 1
        /// (every frame against each candidate), then packed once at the real level. The
        /// baseline is the natural choice, but a build between the levels (v2) is often closer
        /// to all of them: 0.7-4 % smaller on the benchmark corpus.
        case auto
        /// This flavor: a newer build as reference makes the cold start of that build (and
        /// of the CPUs that run it) a plain decode instead of reference-then-delta.
        case named(String)
    }

    /// The zstd level; nil follows the size of the builds (`defaultLevel(forBytes:)`).
    public var compressionLevel: Int32? = nil
    public var reference: Reference = .auto
    /// Strategy order the runner uses unless POLYBIN_EXEC overrides it.
    public var execOrder: ExecOrder = .standard
    /// Where the phases of a long pack are shown (`Progress.terminal`).
    public var progress: Progress = .silent

    public init() {}

    /// The default level for `bytes` of distinct builds: level 19 while it costs seconds,
    /// lower where 19 would cost minutes for a few percent (docs/packing.md, measured).
    public static func defaultLevel(forBytes bytes: UInt64) -> Int32 {
        switch bytes {
        case ..<(32 << 20): return 19
        case ..<(256 << 20): return 12
        case ..<(1 << 30): return 9
        default: return 6
        }
    }

    /// A lone frame at least this large is compressed by zstd's two workers. Several frames
    /// run side by side instead, one thread each: zstd's workers split a frame into jobs whose
    /// matches cannot reach far back, which cost 11 % of size at levels 3 and 9 on a 300 MB
    /// build (docs/packing.md), while a single-threaded frame reads its input in place.
    static let threadedFrameBytes = 32 << 20

    struct Build {
        let flavor: Flavor
        let file: MappedFile
        let hash: [UInt8]
    }

    /// The bundle in memory (tests, small tools); `pack(_:into:at:)` streams it into a file.
    public func pack(_ flavors: [Flavor]) throws -> [UInt8] {
        let dir = try FileSystem.makeTemporaryDirectory("polybin-pack")
        defer { try? FileSystem.removeTree(dir) }
        let path = dir.appending("bundle")
        try Files.create(path) { fd in _ = try pack(flavors, into: fd, at: 0) }
        return try Files.read(path)
    }

    /// Packs the builds into `fd` at `base` in one pass, which must read as zeros past it (a
    /// fresh file): each frame streams into its place as zstd makes it (BlobStream), then the
    /// header and index, which need every frame's size, go in front. Returns the layout.
    public func pack(_ flavors: [Flavor], into fd: FileDescriptor, at base: UInt64) throws -> BundleLayout {
        guard !flavors.isEmpty else {
            throw PolybinError("no flavors given: pass at least one --flavor LEVEL=PATH")
        }
        var seen: [String: String] = [:]
        for flavor in flavors {
            if let other = seen[flavor.name] {
                throw PolybinError("two flavors are named \(flavor.name) (\(other) and \(flavor.path))")
            }
            seen[flavor.name] = flavor.path
        }
        if let level = compressionLevel, !(1...22).contains(level) {
            throw PolybinError("compression level \(level) is outside zstd's 1-22")
        }
        if case .named(let name) = reference, seen[name] == nil {
            throw PolybinError("--reference \(name): no flavor has that name (flavors: \(flavors.map(\.name).joined(separator: ", ")))")
        }
        defer { progress.end() }

        // The architecture comes from the builds' ELF headers; feature lists are read in it.
        var arch: (Architecture, String)? = nil
        var resolved: [Flavor] = []
        let files = try flavors.map { flavor in
            let file = try MappedFile(flavor.path)
            let expected = flavor.spelledFeatures == nil ? flavor.features.arch : nil
            let machine = try ELFCheck.requireExecutable(Array(file.bytes.prefix(64)), path: flavor.path, flavor: flavor.name, expected: expected)
            if let (first, firstPath) = arch, first != machine {
                throw PolybinError("\(flavor.path): an \(machine.name) build, but \(firstPath) is \(first.name): a fatbin holds builds of one architecture")
            }
            arch = arch ?? (machine, flavor.path)
            resolved.append(try flavor.resolved(for: machine))
            return file
        }
        progress.begin("hashing", total: UInt64(files.reduce(0) { $0 + $1.count }))
        let builds = zip(resolved, files).map { flavor, file in Build(flavor: flavor, file: file, hash: hash(file)) }

        var unique: [[UInt8]: MappedFile] = [:]
        for build in builds where unique[build.hash] == nil { unique[build.hash] = build.file }
        let hashes = unique.keys.sorted { $0.lexicographicallyPrecedes($1) }
        let level = compressionLevel ?? Self.defaultLevel(forBytes: UInt64(unique.values.reduce(0) { $0 + $1.count }))

        let candidates = referenceCandidates(builds)
        let chosen = candidates.count == 1 ? candidates[0] : try cheapest(candidates, hashes: hashes, unique: unique)
        // One frame per distinct build, in the order of the data area: by name, as the index.
        let byName = builds.sorted { $0.flavor.name.utf8.lexicographicallyPrecedes($1.flavor.name.utf8) }
        var order: [[UInt8]] = []
        for build in byName where !order.contains(build.hash) { order.append(build.hash) }
        func input(_ build: Build, storedSize: UInt64) -> BundleLayout.Input {
            let isReference = build.hash == chosen.hash
            return BundleLayout.Input(
                name: build.flavor.name, codec: isReference ? .zstd : .delta,
                reference: isReference ? nil : chosen.flavor.name, size: UInt64(build.file.count),
                storedSize: storedSize, features: build.flavor.features.bits, identity: build.hash)
        }
        let execOrder = self.execOrder.packed
        // The data area's place depends on the names alone.
        let dataOffset = try BundleLayout(kind: .fatbin, execOrder: execOrder, arch: arch!.0,
                                          inputs: builds.map { input($0, storedSize: 0) }).dataOffset
        let stream = BlobStream(fd: fd, dataStart: base + dataOffset, blobs: order.count)
        let jobs = order.map { Frame(content: unique[$0]!, prefix: $0 == chosen.hash ? nil : chosen.file) }
        try compress(jobs, level: level, phase: "compressing", into: stream)
        let sizes = Dictionary(uniqueKeysWithValues: zip(order, stream.blobSizes))
        let layout = try BundleLayout(kind: .fatbin, execOrder: execOrder, arch: arch!.0,
                                      inputs: builds.map { input($0, storedSize: sizes[$0.hash]!) })
        precondition(layout.dataOffset == dataOffset && layout.blobs.count == order.count)
        let hashOf = Dictionary(builds.map { ($0.flavor.name, $0.hash) }, uniquingKeysWith: { a, _ in a })
        try fd.write(layout.meta(hashes: layout.entries.map { hashOf[$0.input.name]! }), at: base)
        return layout
    }

    /// SHA-256 of a mapped build, each slice dropped from memory once hashed (FileHash).
    func hash(_ file: MappedFile) -> [UInt8] {
        FileHash.digest(of: file) { progress.advance(by: $0) }
    }

    /// The candidate whose bundle is smallest when every frame is compressed at level 1: the
    /// order of sizes at level 1 is the order at the real level, for a fraction of the time.
    /// Builds over 16 MiB are estimated from four 4 MiB slices each (`Frame.samples`).
    func cheapest(_ candidates: [Build], hashes: [[UInt8]], unique: [[UInt8]: MappedFile]) throws -> Build {
        let jobs = candidates.flatMap { c in
            hashes.flatMap { Frame.samples(of: unique[$0]!, against: $0 == c.hash ? nil : c.file) }
        }
        let perCandidate = jobs.count / candidates.count
        let sizes = try compress(jobs, level: 1, phase: "choosing the reference").map { Int($0) }
        let totals = candidates.indices.map { c in sizes[c * perCandidate ..< (c + 1) * perCandidate].reduce(0, +) }
        return candidates[totals.indices.min { totals[$0] < totals[$1] }!]
    }

    /// The named build, or the two lowest-ranked distinct builds (ties by name).
    func referenceCandidates(_ builds: [Build]) -> [Build] {
        if case .named(let name) = reference { return builds.filter { $0.flavor.name == name } }
        let ranked = builds.sorted { a, b in
            let order = a.flavor.features.rankCompare(b.flavor.features)
            return order != 0 ? order < 0 : a.flavor.name < b.flavor.name
        }
        var distinct: [Build] = []
        for build in ranked where !distinct.contains(where: { $0.hash == build.hash }) { distinct.append(build) }
        return Array(distinct.prefix(2))
    }

    /// One zstd frame to make: a whole build, or a delta against `prefix`, or a slice of one.
    struct Frame: @unchecked Sendable {
        let content: MappedFile
        let prefix: MappedFile?
        var range: Range<Int>
        var prefixRange: Range<Int>

        init(content: MappedFile, prefix: MappedFile?) {
            self.content = content
            self.prefix = prefix
            range = 0..<content.count
            prefixRange = 0..<(prefix?.count ?? 0)
        }

        static let sampleBytes = 4 << 20

        /// The whole frame for a small build; for a big one, slices at 0, 1/4, 1/2 and 3/4 of
        /// it, each against the same place of the prefix widened by a slice either side (level
        /// builds keep their layout: code shifts, it does not move across the file).
        static func samples(of content: MappedFile, against prefix: MappedFile?) -> [Frame] {
            let whole = Frame(content: content, prefix: prefix)
            guard content.count > 4 * sampleBytes else { return [whole] }
            return (0..<4).map { quarter in
                var frame = whole
                let start = content.count / 4 * quarter
                frame.range = start..<(start + sampleBytes)
                if let prefix {
                    let at = Int(Double(start) * Double(prefix.count) / Double(content.count))
                    frame.prefixRange = max(0, at - sampleBytes)..<min(prefix.count, at + 2 * sampleBytes)
                }
                return frame
            }
        }
    }

    /// Whether frames run side by side, one per core: only when a second compression context
    /// costs no more memory than the largest frame's input, which the zstd CLI holds for the
    /// same work (it reads a --patch-from reference whole). Small builds at high levels are
    /// the other way round: at level 19 a 1 MB delta's context is 33 MiB (its tables cover
    /// prefix and frame), so two side by side doubled the peak RSS the CLI has (docs/packing.md,
    /// "Memory"); one at a time, the frames cost the same CPU time as the CLI's.
    static func sideBySide(_ frames: [Frame], level: Int32) -> Bool {
        guard frames.count > 1 else { return false }
        let contexts = frames.map { pb_zstd_context_bytes($0.range.count, $0.prefixRange.count, level) }
        // (size_t)-1, an estimate zstd could not make, comes through as -1: one at a time.
        return contexts.allSatisfy { $0 > 0 } && contexts.max()! <= frames.map(\.range.count).max()!
    }

    /// The frames side by side on the cores, largest first, when `sideBySide`; else one at a
    /// time in data order (each streams straight to the file); a lone big frame on zstd's
    /// workers. Returns each frame's size; `stream`, when given, receives the frames as they are made.
    @discardableResult
    func compress(_ frames: [Frame], level: Int32, phase: String, into stream: BlobStream? = nil) throws -> [UInt64] {
        let progress = self.progress
        progress.begin(phase, total: UInt64(frames.reduce(0) { $0 + $1.range.count }))
        let workers: Int32 = frames.count == 1 && frames[0].range.count >= Self.threadedFrameBytes ? 2 : 1
        let parallel = Self.sideBySide(frames, level: level)
        // Ties in data order: the first frame streams to the file, the others wait behind it.
        let order = !parallel ? Array(frames.indices) : frames.indices.sorted { a, b in
            frames[a].range.count != frames[b].range.count ? frames[a].range.count > frames[b].range.count : a < b
        }
        let results = ConcurrentResults<Result<UInt64, PolybinError>>(count: frames.count)
        let one: @Sendable (Int) -> Void = { k in
            let i = order[k]
            results[i] = Result {
                let size = try Compression.zstd(frames[i].content, frames[i].range, prefix: frames[i].prefix, frames[i].prefixRange,
                                                level: level, workers: workers, progress: progress) { bytes in
                    try stream?.append(i, bytes)
                }
                try stream?.finish(i)
                return size
            }
            .mapError { $0 as? PolybinError ?? PolybinError("\($0)") }
        }
        if parallel {
            DispatchQueue.concurrentPerform(iterations: order.count, execute: one)
        } else {
            for k in order.indices { one(k) }
        }
        return try frames.indices.map { try results[$0]!.get() }
    }
}
