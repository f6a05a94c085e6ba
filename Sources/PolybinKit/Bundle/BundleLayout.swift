import CPolybin

/// Where everything of a bundle goes (docs/format.md), computed from names, sizes and
/// identities alone: no payload byte is held. The header, index and names (the "meta"
/// prefix) need the content hashes, which a writer may learn only while it streams the data,
/// so `meta(hashes:)` makes them last, and a writer places them at offset 0 when done.
public struct BundleLayout: Sendable {
    public enum Kind: UInt16, Sendable { case fatbin = 1, files = 2 }
    public enum Codec: UInt16, Sendable { case raw = 0, zstd = 1, delta = 2 }

    /// One entry as the caller describes it.
    public struct Input: Sendable {
        public var name: String
        public var codec: Codec
        /// Name of the reference entry, for deltas.
        public var reference: String?
        public var size: UInt64
        public var storedSize: UInt64
        public var features: UInt64
        /// Entries with equal identities share one stored blob; nil: this entry's own blob.
        public var identity: [UInt8]?

        public init(name: String, codec: Codec, reference: String? = nil, size: UInt64, storedSize: UInt64,
                    features: UInt64 = 0, identity: [UInt8]?) {
            self.name = name
            self.codec = codec
            self.reference = reference
            self.size = size
            self.storedSize = storedSize
            self.features = features
            self.identity = identity
        }
    }

    /// An entry in index order, with the offsets a reader will find.
    public struct Entry: Sendable {
        public var input: Input
        /// Index of the blob holding its stored bytes.
        public var blob: Int
        /// Offsets from the start of the bundle.
        public var nameOffset: UInt64
        public var storedOffset: UInt64
        var referenceIndex: UInt32
    }

    public let kind: Kind
    public let execOrder: UInt32
    /// The builds' architecture (fatbins); files bundles record none.
    public let arch: Architecture
    /// Sorted by name, as in the index.
    public let entries: [Entry]
    /// Offset from the start of the bundle and size of every distinct blob, in data order.
    public let blobs: [(offset: UInt64, size: UInt64)]
    /// The entry whose input provides each blob's bytes.
    public let blobEntry: [Int]
    public let dataOffset: UInt64
    public let size: UInt64
    let names: [UInt8]

    /// The data area aligns each stored blob so uncompressed files can be used in place.
    static let blobAlignment = 16

    public init(kind: Kind, execOrder: UInt32 = 0, arch: Architecture = .x86_64, inputs: [Input]) throws {
        self.kind = kind
        self.execOrder = kind == .fatbin ? execOrder : 0
        self.arch = arch
        let sorted = inputs.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.name == b.name {
            throw PolybinError("two entries are named '\(a.name)'")
        }
        let position = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1.name, UInt32($0)) })
        let namesOffset = UInt64(PB_HEADER_SIZE) + UInt64(sorted.count) * UInt64(PB_ENTRY_SIZE)
        var names: [UInt8] = []
        var nameOffsets: [UInt64] = []
        for input in sorted {
            nameOffsets.append(namesOffset + UInt64(names.count))
            names.append(contentsOf: input.name.utf8)
            names.append(0)
        }
        let dataOffset = align(namesOffset + UInt64(names.count), Int(PB_DATA_ALIGN))

        var blobOf: [[UInt8]: Int] = [:]
        var blobs: [(offset: UInt64, size: UInt64)] = []
        var blobEntry: [Int] = []
        var entries: [Entry] = []
        var dataSize: UInt64 = 0
        for (i, input) in sorted.enumerated() {
            var ref = UInt32(PB_NO_REF)
            if let reference = input.reference {
                guard let index = position[reference] else {
                    throw PolybinError("entry '\(input.name)' refers to missing entry '\(reference)'")
                }
                ref = index
            }
            let blob: Int
            if let identity = input.identity, let shared = blobOf[identity] {
                blob = shared
            } else {
                dataSize = align(dataSize, Self.blobAlignment)
                blob = blobs.count
                blobs.append((dataOffset + dataSize, input.storedSize))
                blobEntry.append(i)
                dataSize += input.storedSize
                if let identity = input.identity { blobOf[identity] = blob }
            }
            entries.append(Entry(input: input, blob: blob, nameOffset: nameOffsets[i],
                                 storedOffset: blobs[blob].offset, referenceIndex: ref))
        }
        self.entries = entries
        self.blobs = blobs
        self.blobEntry = blobEntry
        self.dataOffset = dataOffset
        self.size = dataOffset + dataSize
        self.names = names
    }

    /// Header, index, names and the zero padding up to the data: bytes 0..<dataOffset.
    /// `hashes[i]` is the SHA-256 of entry i's content (index order).
    public func meta(hashes: [[UInt8]]) -> [UInt8] {
        precondition(hashes.count == entries.count && hashes.allSatisfy { $0.count == 32 })
        var out = [UInt8]()
        out.reserveCapacity(Int(dataOffset))
        // From the C reader, which keeps it masked: no program holding polybin holds the magic.
        var magic = [UInt8](repeating: 0, count: Int(PB_MAGIC_SIZE))
        pb_magic(&magic)
        out.append(contentsOf: magic)
        out.appendLE(UInt16(PB_VERSION))
        out.appendLE(kind.rawValue)
        out.appendLE(UInt32(PB_HEADER_SIZE))
        out.appendLE(UInt32(PB_ENTRY_SIZE))
        out.appendLE(UInt32(entries.count))
        out.appendLE(execOrder)
        out.appendLE(UInt32(0))
        out.appendLE(size)
        out.appendLE(UInt64(PB_HEADER_SIZE) + UInt64(entries.count) * UInt64(PB_ENTRY_SIZE))
        out.appendLE(UInt64(names.count))
        out.appendLE(dataOffset)
        out.appendLE(size - dataOffset)
        out.appendLE(kind == .fatbin ? arch.rawValue : UInt16(PB_ARCH_NONE.rawValue))
        out.append(contentsOf: [UInt8](repeating: 0, count: 22 + 32))
        let namesStart = UInt64(PB_HEADER_SIZE) + UInt64(entries.count) * UInt64(PB_ENTRY_SIZE)
        for (i, entry) in entries.enumerated() {
            let start = out.count
            out.appendLE(UInt32(entry.nameOffset - namesStart))
            out.appendLE(UInt32(entry.input.name.utf8.count))
            out.appendLE(entry.input.codec.rawValue)
            out.appendLE(UInt16(0))
            out.appendLE(entry.referenceIndex)
            out.appendLE(entry.storedOffset - dataOffset)
            out.appendLE(entry.input.storedSize)
            out.appendLE(entry.input.size)
            out.appendLE(entry.input.features)
            out.append(contentsOf: hashes[i])
            out.append(contentsOf: [UInt8](repeating: 0, count: Int(PB_ENTRY_SIZE) - (out.count - start)))
        }
        out.append(contentsOf: names)
        let metaEnd = out.count
        out.append(contentsOf: [UInt8](repeating: 0, count: Int(dataOffset) - out.count))
        let digest = out.withUnsafeBytes { raw -> [UInt8] in
            var hasher = FileHash.Hasher()
            hasher.update(UnsafeRawBufferPointer(rebasing: raw[..<96]))
            hasher.update(UnsafeRawBufferPointer(rebasing: raw[Int(PB_HEADER_SIZE)..<metaEnd]))
            return hasher.finalize()
        }
        out.replaceSubrange(96..<128, with: digest)
        return out
    }
}
