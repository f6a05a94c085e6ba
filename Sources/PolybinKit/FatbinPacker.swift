import CPolybin
import Dispatch
import Foundation

/// Packs the builds of a fatbin into one bundle: identical builds stored once, the
/// lowest-ranked build zstd-compressed, every other build a zstd delta against it.
public struct FatbinPacker {
    public var compressionLevel: Int32 = 19
    /// Strategy order the runner uses unless POLYBIN_EXEC overrides it.
    public var execOrder: [ExecStrategy] = ExecStrategy.defaultOrder

    public init() {}

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
        guard (1...19).contains(compressionLevel) || (20...22).contains(compressionLevel) else {
            throw PolybinError("compression level \(compressionLevel) is outside zstd's 1-22")
        }

        let builds = try flavors.map { flavor -> (Flavor, [UInt8], [UInt8]) in
            let bytes = try Files.read(flavor.path)
            try ELFCheck.requireExecutable(bytes, path: flavor.path, flavor: flavor.name)
            return (flavor, bytes, SHA256.digest(bytes))
        }

        // The reference is the build every CPU can run; ties go to the first name.
        let reference = builds.min { a, b in
            let order = pb_rank_compare(a.0.features.bits, b.0.features.bits)
            return order != 0 ? order < 0 : a.0.name < b.0.name
        }!
        var unique: [[UInt8]: [UInt8]] = [:]
        for build in builds where unique[build.2] == nil { unique[build.2] = build.1 }
        let hashes = unique.keys.sorted { $0.lexicographicallyPrecedes($1) }

        let level = compressionLevel
        let contents = hashes.map { unique[$0]! }
        let referenceHash = reference.2, referenceBytes = reference.1
        let results = ConcurrentResults<Result<[UInt8], PolybinError>>(count: hashes.count)
        DispatchQueue.concurrentPerform(iterations: hashes.count) { i in
            let prefix = hashes[i] == referenceHash ? [] : referenceBytes
            results[i] = Result { try Compression.zstd(contents[i], prefix: prefix, level: level) }
                .mapError { $0 as? PolybinError ?? PolybinError("\($0)") }
        }
        var stored: [[UInt8]: [UInt8]] = [:]
        for (i, hash) in hashes.enumerated() { stored[hash] = try results[i]!.get() }

        var writer = BundleWriter(kind: .fatbin, execOrder: ExecStrategy.pack(execOrder))
        for (flavor, bytes, hash) in builds {
            let isReference = hash == reference.2
            writer.entries.append(BundleWriter.Entry(
                name: flavor.name,
                codec: isReference ? .zstd : .delta,
                reference: isReference ? nil : reference.0.name,
                size: UInt64(bytes.count),
                sha256: hash,
                features: flavor.features.bits,
                stored: stored[hash]!))
        }
        return try writer.serialize()
    }
}

/// zstd through the C layer, which shares the decoder's frame parameters.
public enum Compression {
    public static func zstd(_ source: [UInt8], prefix: [UInt8] = [], level: Int32) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pb_zstd_bound(source.count))
        var written = 0
        var error = [CChar](repeating: 0, count: 256)
        let status = source.withUnsafeBytes { src in
            prefix.withUnsafeBytes { pre in
                out.withUnsafeMutableBytes { dst in
                    pb_zstd_compress(src.baseAddress, src.count, pre.baseAddress, pre.count, level, 1,
                                     dst.baseAddress, dst.count, &written, &error, error.count)
                }
            }
        }
        guard status == 0 else { throw PolybinError(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        out.removeSubrange(written...)
        return out
    }
}

/// Slots written by concurrentPerform workers, one slot per worker index.
final class ConcurrentResults<T>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    subscript(i: Int) -> T? {
        get { lock.lock(); defer { lock.unlock() }; return slots[i] }
        set { lock.lock(); slots[i] = newValue; lock.unlock() }
    }
}
