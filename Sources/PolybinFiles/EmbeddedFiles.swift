import CPolybin

/// The files of a bundle made by `polybin embed`, read by name from Swift without Foundation.
///
/// The bundle lives in the program's read-only data: the generated C file defines it, and its
/// header's `NAME_bundle(&size)` returns it. Pass that to `EmbeddedFiles(start:count:)`:
///
///     var size = 0
///     let files = try EmbeddedFiles(start: assets_bundle(&size), count: size)
///     if let page = files["index.html"] { ... page.buffer ... or try page.bytes() }
///
/// Files stored uncompressed are read in place (`buffer`, zero-copy); every file, compressed
/// or not, can be read as `bytes()`. Opening validates the bundle's header, index and names
/// once; `bytes()` also checks the content's SHA-256. Names are the bundle's names exactly
/// (paths relative to the embedded directory, `/` separators), compared byte by byte.
public struct EmbeddedFiles: RandomAccessCollection, @unchecked Sendable {
    // @unchecked: the bundle is immutable memory that outlives the program's every use of it.
    private var bundle = pb_bundle()

    public init(start: UnsafePointer<UInt8>?, count: Int) throws(EmbeddedFilesError) {
        guard let start, count >= 0 else { throw EmbeddedFilesError("no bundle given (null pointer)") }
        let status = pb_bundle_open(&bundle, start, UInt64(count))
        guard status == PB_OK else { throw EmbeddedFilesError(String(cString: pb_status_message(status))) }
        guard bundle.kind == UInt32(PB_KIND_FILES.rawValue) else {
            throw EmbeddedFilesError("the bundle holds fatbin builds, not embedded files")
        }
    }

    public init(bundle: UnsafeRawBufferPointer) throws(EmbeddedFilesError) {
        try self.init(start: bundle.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bundle.count)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Int(bundle.count) }

    /// File `position`, in name order.
    public subscript(position: Int) -> EmbeddedFile {
        precondition(position >= 0 && position < endIndex, "EmbeddedFiles index out of range")
        var entry = pb_entry()
        withUnsafePointer(to: bundle) { pb_bundle_entry($0, UInt32(position), &entry) }
        return EmbeddedFile(bundle: bundle, index: UInt32(position), entry: entry)
    }

    /// The file called exactly `name`, or nil.
    public subscript(name: String) -> EmbeddedFile? {
        var name = name
        let index = name.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { chars in
                withUnsafePointer(to: bundle) { pb_bundle_find($0, chars.baseAddress, chars.count) }
            }
        }
        return index < 0 ? nil : self[Int(index)]
    }
}

/// Directories, implied by the names ("a/b/c.txt" makes "a" and "a/b"; "" is the top). Paths
/// are bundle names: no leading or trailing "/". The names below one directory are contiguous
/// in the bundle's byte order, so each question is a binary search.
extension EmbeddedFiles {
    public enum Kind: Sendable, Equatable { case file, directory }

    /// One entry directly in a directory: its last path component, and the file when it is one.
    public struct DirectoryEntry: Sendable {
        public let name: String
        public let kind: Kind
        /// The file's position in the bundle; nil for a directory.
        public let index: Int?
    }

    /// Whether `path` names a file, a directory, or nothing (nil).
    public func kind(of path: String) -> Kind? {
        if path.isEmpty { return .directory }
        if self[path] != nil { return .file }
        let key = Array(path.utf8) + [UInt8(ascii: "/")]
        return hasPrefix(key, at: firstIndex(atOrAfter: key)) ? .directory : nil
    }

    /// The position of the first file whose name is at or after `key` (as bytes), or
    /// `endIndex`: the files whose names start with a prefix follow it.
    public func firstIndex(atOrAfter key: String) -> Int { firstIndex(atOrAfter: Array(key.utf8)) }

    /// The entries directly in directory `path`, in the bundle's name order; nil when `path`
    /// is not a directory.
    public func contents(ofDirectory path: String) -> [DirectoryEntry]? {
        guard kind(of: path) == .directory else { return nil }
        let prefix = path.isEmpty ? [] : Array(path.utf8) + [UInt8(ascii: "/")]
        var entries: [DirectoryEntry] = []
        var i = firstIndex(atOrAfter: prefix)
        while hasPrefix(prefix, at: i) {
            let rest = Array(name(at: i).dropFirst(prefix.count))
            if let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
                let component = Array(rest[..<slash])
                entries.append(DirectoryEntry(name: String(decoding: component, as: UTF8.self), kind: .directory, index: nil))
                // Skip everything below it: "0" is the byte after "/".
                i = firstIndex(atOrAfter: prefix + component + [UInt8(ascii: "0")])
            } else {
                entries.append(DirectoryEntry(name: String(decoding: rest, as: UTF8.self), kind: .file, index: i))
                i += 1
            }
        }
        return entries
    }

    private func name(at position: Int) -> UnsafeRawBufferPointer {
        let entry = self[position].entryForLookup
        return UnsafeRawBufferPointer(start: entry.name, count: Int(entry.name_size))
    }

    private func firstIndex(atOrAfter key: [UInt8]) -> Int {
        var lo = 0, hi = endIndex
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if name(at: mid).lexicographicallyPrecedes(key) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func hasPrefix(_ prefix: [UInt8], at position: Int) -> Bool {
        position < endIndex && name(at: position).starts(with: prefix)
    }
}

/// One embedded file.
public struct EmbeddedFile: @unchecked Sendable {
    private let bundle: pb_bundle
    private let index: UInt32
    private let entry: pb_entry

    /// The index row, for the directory lookups' name compares.
    var entryForLookup: pb_entry { entry }

    init(bundle: pb_bundle, index: UInt32, entry: pb_entry) {
        self.bundle = bundle
        self.index = index
        self.entry = entry
    }

    public var name: String {
        String(decoding: UnsafeRawBufferPointer(start: entry.name, count: Int(entry.name_size)), as: UTF8.self)
    }

    /// The content's size, uncompressed.
    public var size: Int { Int(entry.size) }

    /// True when the file was stored zstd-compressed (`polybin embed --compress`).
    public var isCompressed: Bool { entry.codec != UInt32(PB_CODEC_RAW.rawValue) }

    /// The content where it lies in the program, for files stored uncompressed; nil for
    /// compressed files, which `bytes()` decodes.
    public var buffer: UnsafeRawBufferPointer? {
        isCompressed ? nil : UnsafeRawBufferPointer(start: entry.stored, count: Int(entry.size))
    }

    /// The content as a new array, decompressed if need be and checked against its SHA-256.
    public func bytes() throws(EmbeddedFilesError) -> [UInt8] {
        var status = PB_OK
        let content = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            status = withUnsafePointer(to: bundle) { pb_entry_decode($0, index, buffer.baseAddress, UInt64(size)) }
            initialized = status == PB_OK ? size : 0
        }
        guard status == PB_OK else { throw EmbeddedFilesError("\(name): \(String(cString: pb_status_message(status)))") }
        return content
    }
}

public struct EmbeddedFilesError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
