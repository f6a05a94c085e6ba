import CPolybin
import Dispatch

/// Packs the builds of a fatbin into one bundle: identical builds stored once, the reference
/// build zstd-compressed, every other build a zstd delta against it.
public struct FatbinPacker {
    /// Which build the others are stored as deltas against.
    public enum Reference: Equatable, Sendable {
        /// The smaller bundle of the two lowest-ranked builds as reference. The baseline is
        /// the natural choice, but a build between the levels (v2) is often closer to all of
        /// them: 0.7-4 % smaller on the benchmark corpus. Costs one packing per candidate.
        case auto
        /// This flavor: a newer build as reference makes the cold start of that build (and
        /// of the CPUs that run it) a plain decode instead of reference-then-delta.
        case named(String)
    }

    public var compressionLevel: Int32 = 19
    public var reference: Reference = .auto
    /// Strategy order the runner uses unless POLYBIN_EXEC overrides it.
    public var execOrder: [ExecStrategy] = ExecStrategy.defaultOrder

    public init() {}

    typealias Build = (flavor: Flavor, bytes: [UInt8], hash: [UInt8])

    public func pack(_ flavors: [Flavor]) throws -> [UInt8] {
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
        guard (1...22).contains(compressionLevel) else {
            throw PolybinError("compression level \(compressionLevel) is outside zstd's 1-22")
        }
        if case .named(let name) = reference, seen[name] == nil {
            throw PolybinError("--reference \(name): no flavor has that name (flavors: \(flavors.map(\.name).joined(separator: ", ")))")
        }

        // The architecture comes from the builds' ELF headers; feature lists are read in it.
        var arch: (Architecture, String)? = nil
        let builds: [Build] = try flavors.map { flavor in
            let bytes = try Files.read(flavor.path)
            let expected = flavor.spelledFeatures == nil ? flavor.features.arch : nil
            let machine = try ELFCheck.requireExecutable(bytes, path: flavor.path, flavor: flavor.name, expected: expected)
            if let (first, firstPath) = arch, first != machine {
                throw PolybinError("\(flavor.path): an \(machine.name) build, but \(firstPath) is \(first.name): a fatbin holds builds of one architecture")
            }
            arch = arch ?? (machine, flavor.path)
            return (try flavor.resolved(for: machine), bytes, SHA256.digest(bytes))
        }
        let candidates = referenceCandidates(builds)

        var unique: [[UInt8]: [UInt8]] = [:]
        for build in builds where unique[build.hash] == nil { unique[build.hash] = build.bytes }
        let hashes = unique.keys.sorted { $0.lexicographicallyPrecedes($1) }

        // Every (candidate, content) compression at once, spread over the cores.
        let level = compressionLevel
        let contents = hashes.map { unique[$0]! }
        let jobs = candidates.flatMap { c in hashes.indices.map { (candidate: c, content: $0) } }
        let results = ConcurrentResults<Result<[UInt8], PolybinError>>(count: jobs.count)
        DispatchQueue.concurrentPerform(iterations: jobs.count) { j in
            let (candidate, i) = jobs[j]
            let prefix = hashes[i] == candidate.hash ? [] : candidate.bytes
            results[j] = Result { try Compression.zstd(contents[i], prefix: prefix, level: level) }
                .mapError { $0 as? PolybinError ?? PolybinError("\($0)") }
        }

        var best: [UInt8]? = nil
        for (c, candidate) in candidates.enumerated() {
            var stored: [[UInt8]: [UInt8]] = [:]
            for (i, hash) in hashes.enumerated() { stored[hash] = try results[c * hashes.count + i]!.get() }
            var writer = BundleWriter(kind: .fatbin, execOrder: ExecStrategy.pack(execOrder), arch: arch!.0)
            for build in builds {
                let isReference = build.hash == candidate.hash
                writer.entries.append(BundleWriter.Entry(
                    name: build.flavor.name,
                    codec: isReference ? .zstd : .delta,
                    reference: isReference ? nil : candidate.flavor.name,
                    size: UInt64(build.bytes.count),
                    sha256: build.hash,
                    features: build.flavor.features.bits,
                    stored: stored[build.hash]!))
            }
            let bundle = try writer.serialize()
            if best == nil || bundle.count < best!.count { best = bundle }
        }
        return best!
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
}
