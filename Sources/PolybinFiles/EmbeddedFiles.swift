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
/// are bundle names: no leading or trailing "/". Walked by the C layer's pb_bundle_dir_next
/// (pb_dir.h), the one walk over a bundle's sorted names.
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
        switch withBundle(path, { pb_bundle_kind($0, $1, $2) }) {
        case UInt32(PB_DIR_FILE.rawValue): .file
        case UInt32(PB_DIR_DIRECTORY.rawValue): .directory
        default: nil
        }
    }

    /// The position of the first file whose name is at or after `key` (as bytes), or
    /// `endIndex`: the files whose names start with a prefix follow it.
    public func firstIndex(atOrAfter key: String) -> Int {
        Int(withBundle(key) { pb_bundle_lower_bound($0, $1, $2) })
    }

    /// The entries directly in directory `path`, in the bundle's name order; nil when `path`
    /// is not a directory.
    public func contents(ofDirectory path: String) -> [DirectoryEntry]? {
        guard kind(of: path) == .directory else { return nil }
        return withBundle(path) { bundle, dir, length in
            var entries: [DirectoryEntry] = []
            var cursor: UInt64 = 0
            var entry = pb_dirent()
            while pb_bundle_dir_next(bundle, dir, length, &cursor, &entry) != 0 {
                let name = String(decoding: UnsafeRawBufferPointer(start: entry.name, count: entry.length), as: UTF8.self)
                entries.append(entry.kind == UInt32(PB_DIR_FILE.rawValue)
                    ? DirectoryEntry(name: name, kind: .file, index: Int(entry.index))
                    : DirectoryEntry(name: name, kind: .directory, index: nil))
            }
            return entries
        }
    }

    /// `body` with the bundle and `path`'s bytes, as the C directory functions take them.
    private func withBundle<R>(_ path: String, _ body: (UnsafePointer<pb_bundle>, UnsafePointer<CChar>?, Int) -> R) -> R {
        var path = path
        return path.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { chars in
                withUnsafePointer(to: bundle) { body($0, chars.baseAddress, chars.count) }
            }
        }
    }
}

/// One embedded file.
public struct EmbeddedFile: @unchecked Sendable {
    private let bundle: pb_bundle
    private let index: UInt32
    private let entry: pb_entry

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
