import CPolybin

/// A bundle opened by the C reader, from a bundle file or from inside a fatbin or object.
public final class LoadedBundle {
    public struct Entry: Sendable {
        public let index: UInt32
        public let name: String
        public let codec: BundleWriter.Codec
        public let reference: String?
        public let size: UInt64
        public let storedSize: UInt64
        public let sha256: [UInt8]
        public let features: FeatureSet
        /// Where its stored bytes start, from the start of the bundle.
        public let storedOffset: Int
    }

    private let storage: UnsafeMutableRawBufferPointer
    private var bundle = pb_bundle()
    public let path: String
    public private(set) var entries: [Entry] = []
    /// Where the bundle starts inside the file it was found in.
    public private(set) var offsetInFile = 0

    /// Opens the bundle in `path`: the file itself, or the first valid bundle inside it.
    public convenience init(path: String) throws {
        try self.init(bytes: Files.read(path), path: path)
    }

    /// Opens a bundle held in memory; `path` names it in messages.
    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        // Located before `storage` is set: a throw before every property is initialised frees
        // nothing twice (deinit only runs for a fully initialised object).
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        let status = pb_bundle_locate(&bundle, buffer.baseAddress, UInt64(bytes.count))
        guard status == PB_OK else {
            buffer.deallocate()
            throw PolybinError("\(path): \(Self.problem(status, in: bytes))")
        }
        storage = buffer
        offsetInFile = UnsafeRawPointer(storage.baseAddress!).distance(to: UnsafeRawPointer(bundle.base))
        let arch = Architecture(rawValue: UInt16(bundle.arch))
        var names: [UInt32: String] = [:]
        for i in 0..<bundle.count {
            var e = pb_entry()
            pb_bundle_entry(&bundle, i, &e)
            names[i] = String(cString: e.name)
        }
        for i in 0..<bundle.count {
            var e = pb_entry()
            pb_bundle_entry(&bundle, i, &e)
            entries.append(Entry(
                index: i, name: names[i]!, codec: BundleWriter.Codec(rawValue: UInt16(e.codec))!,
                reference: e.ref == PB_NO_REF ? nil : names[e.ref], size: e.size, storedSize: e.stored_size,
                sha256: Array(UnsafeBufferPointer(start: e.sha256, count: 32)), features: FeatureSet(bits: e.features, arch: arch ?? .x86_64),
                storedOffset: UnsafeRawPointer(bundle.base).distance(to: UnsafeRawPointer(e.stored))))
        }
    }

    deinit { storage.deallocate() }

    /// A bundle file as `pack` or `embed` writes it (the bundle alone, nothing before or
    /// after), mapped and opened in place without reading its data: what `object` and
    /// `generate-c` copy from.
    public struct BundleFile {
        public let file: MappedFile
        /// The builds' architecture as the C reader read it; nil for a files bundle.
        public let arch: Architecture?
    }

    /// Maps and checks the bundle file `path`.
    public static func mappedBundleFile(_ path: String) throws -> BundleFile {
        let file = try MappedFile(path)
        let bundle = try checkBundleFile(file.bytes, path: path)
        return BundleFile(file: file, arch: Architecture(rawValue: UInt16(bundle.arch)))
    }

    /// The kind and size of the bundle that starts exactly at `bytes`, read in place (a
    /// mapping: only the header, index and names are touched); the reader's complaint as
    /// "corrupt payload" otherwise.
    static func bundle(at bytes: UnsafeRawBufferPointer, path: String) throws -> (isFatbin: Bool, size: UInt64) {
        var bundle = pb_bundle()
        let status = pb_bundle_open(&bundle, bytes.baseAddress, UInt64(bytes.count))
        guard status == PB_OK else { throw PolybinError("\(path): corrupt payload: \(String(cString: pb_status_message(status)))") }
        return (bundle.kind == UInt32(PB_KIND_FATBIN.rawValue), bundle.size)
    }

    /// Whether the first valid bundle inside a relocatable object's bytes (read in place) is
    /// a fatbin's; an object holds no runner, so "no bundle" is said as for any such file.
    static func locateInObject(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Bool {
        var bundle = pb_bundle()
        let status = pb_bundle_locate(&bundle, bytes.baseAddress, UInt64(bytes.count))
        guard status == PB_OK else {
            throw PolybinError("\(path): \(status == PB_E_MAGIC ? "holds no polybin payload" : "corrupt payload: \(String(cString: pb_status_message(status)))")")
        }
        return bundle.kind == UInt32(PB_KIND_FATBIN.rawValue)
    }

    /// The bundle that fills `bytes` exactly, opened by the C reader.
    static func checkBundleFile(_ bytes: UnsafeRawBufferPointer, path: String) throws -> pb_bundle {
        var bundle = pb_bundle()
        let status = pb_bundle_open(&bundle, bytes.baseAddress, UInt64(bytes.count))
        guard status == PB_OK else {
            if status != PB_E_MAGIC { throw PolybinError("\(path): corrupt bundle: \(String(cString: pb_status_message(status)))") }
            throw PolybinError("\(path): not a polybin bundle file (make one with polybin pack or polybin embed)")
        }
        guard bundle.size == UInt64(bytes.count) else {
            throw PolybinError("\(path): not a polybin bundle file: \(UInt64(bytes.count) - bundle.size) bytes follow its bundle")
        }
        return bundle
    }

    /// Whether `needle` occurs in `bytes`.
    static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, bytes.count >= needle.count else { return needle.isEmpty }
        return bytes.withUnsafeBufferPointer { b in
            needle.withUnsafeBufferPointer { n in
                var i = 0
                while i <= b.count - n.count {
                    if b[i] == first && (1..<n.count).allSatisfy({ b[i + $0] == n[$0] }) { return true }
                    i += 1
                }
                return false
            }
        }
    }

    static func problem(_ status: pb_status, in bytes: [UInt8]) -> String {
        guard status == PB_E_MAGIC else { return "corrupt payload: \(String(cString: pb_status_message(status)))" }
        switch PayloadPlace(bytes) {
        case .none: return "holds no polybin payload"
        case .removed: return "a polybin fatbin whose payload is gone: its \(Fatbin.payloadSection) section was stripped"
        case .damaged: return "corrupt payload: its \(Fatbin.payloadSection) section holds no bundle (the bundle header is damaged)"
        }
    }

    public var isFatbin: Bool { bundle.kind == UInt32(PB_KIND_FATBIN.rawValue) }
    /// The builds' architecture; nil for a files bundle.
    public var arch: Architecture? { Architecture(rawValue: UInt16(bundle.arch)) }
    public var byteCount: UInt64 { bundle.size }
    /// Decoded and validated by the C reader when the bundle was opened.
    public var execOrder: ExecOrder { ExecOrder(bundle.exec) }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// The content of an entry, decoded and verified against its SHA-256. `progress` hears
    /// phase "decoding": the bytes of the delta reference (decoded first), then the entry's.
    public func content(of entry: Entry, progress: Progress = .silent) throws -> [UInt8] {
        // A size that its stored frame cannot produce is refused before it is allocated.
        let checked = pb_entry_check(&bundle, entry.index)
        guard checked == PB_OK else {
            throw PolybinError("\(path): \(entry.name): \(String(cString: pb_status_message(checked)))")
        }
        var out = [UInt8](repeating: 0, count: Int(entry.size))
        let reference = entry.codec == .delta ? self.entry(named: entry.reference ?? "")?.size ?? 0 : 0
        progress.begin("decoding", total: reference + entry.size)
        var decoder = pb_decoder()
        let status = withUnsafePointer(to: &bundle) { bundle in
            decoder.bundle = bundle
            decoder.progress = { context, done in Unmanaged<ProgressCount>.fromOpaque(context!).takeUnretainedValue().report(done) }
            let count = ProgressCount(progress)
            decoder.progress_context = Unmanaged.passUnretained(count).toOpaque()
            defer { pb_decoder_release(&decoder) }
            return withExtendedLifetime(count) {
                out.withUnsafeMutableBytes { pb_decode(&decoder, entry.index, $0.baseAddress, -1, nil) }
            }
        }
        guard status == PB_OK else {
            throw PolybinError("\(path): \(entry.name): \(String(cString: pb_status_message(status)))")
        }
        return out
    }

    /// The runner's POLYBIN_EXPLAIN=1 table for `host` with `chosen` selected, formatted by
    /// the C code the runner formats it with. `host` is in this bundle's architecture.
    public func decisionTable(for host: FeatureSet, chosen: Entry?) -> String {
        let index = chosen.map { Int64($0.index) } ?? -1
        let size = pb_explain_format(&bundle, host.bits, index, nil, 0)
        var out = [CChar](repeating: 0, count: size + 1)
        _ = pb_explain_format(&bundle, host.bits, index, &out, out.count)
        return String(decoding: out.prefix(size).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The entry the runner would choose for these features, as the runner computes it.
    public func select(for host: FeatureSet) -> Entry? {
        guard host.arch == arch else { return nil }
        let index = pb_select(&bundle, host.bits)
        return index < 0 ? nil : entries[Int(index)]
    }
}

/// Turns the running totals the C decoder reports into the increments Progress takes.
private final class ProgressCount {
    let progress: Progress
    var reported: UInt64 = 0

    init(_ progress: Progress) { self.progress = progress }

    func report(_ done: UInt64) {
        if done > reported { progress.advance(by: done - reported) }
        reported = max(reported, done)
    }
}
