/// A bundle (docs/format.md) whose entries' stored bytes are already in memory: tests and
/// small tools. It only describes the entries; where everything goes is BundleLayout's, the
/// same layout the streaming writers use (FatbinPacker through BlobStream, FilesPacker),
/// so every bundle comes out of one layout. Deterministic: entries sorted by name,
/// identical stored data kept once, nothing depends on time or paths.
public struct BundleWriter {
    public typealias Kind = BundleLayout.Kind
    public typealias Codec = BundleLayout.Codec

    public struct Entry {
        public var name: String
        public var codec: Codec
        /// Name of the reference entry, for deltas.
        public var reference: String?
        public var size: UInt64
        public var sha256: [UInt8]
        public var features: UInt64
        public var stored: [UInt8]

        public init(name: String, codec: Codec, reference: String? = nil, size: UInt64,
                    sha256: [UInt8], features: UInt64 = 0, stored: [UInt8]) {
            self.name = name
            self.codec = codec
            self.reference = reference
            self.size = size
            self.sha256 = sha256
            self.features = features
            self.stored = stored
        }
    }

    public var kind: Kind
    public var execOrder: UInt32
    /// The builds' architecture (fatbins; files bundles record none).
    public var arch: Architecture
    public var entries: [Entry] = []

    public init(kind: Kind, execOrder: UInt32 = 0, arch: Architecture = .x86_64) {
        self.kind = kind
        self.execOrder = execOrder
        self.arch = arch
    }

    public func layout() throws -> BundleLayout {
        try BundleLayout(kind: kind, execOrder: execOrder, arch: arch, inputs: entries.map { entry in
            // Identical stored bytes (identical builds, identical files) share one blob.
            BundleLayout.Input(
                name: entry.name, codec: entry.codec, reference: entry.reference, size: entry.size,
                storedSize: UInt64(entry.stored.count), features: entry.features,
                identity: entry.sha256 + [UInt8(entry.codec.rawValue)] + Array((entry.reference ?? "").utf8))
        })
    }

    public func serialize() throws -> [UInt8] {
        let layout = try layout()
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var out = layout.meta(hashes: layout.entries.map { byName[$0.input.name]!.sha256 })
        out.reserveCapacity(Int(layout.size))
        for (blob, where_) in layout.blobs.enumerated() {
            out.append(contentsOf: [UInt8](repeating: 0, count: Int(where_.offset) - out.count))
            out.append(contentsOf: byName[layout.entries[layout.blobEntry[blob]].input.name]!.stored)
        }
        return out
    }
}
