import Glibc

/// What `stat` says about a file, reduced to what Polybin decides on.
public struct FileStatus: Sendable, Equatable {
    public enum Kind: Sendable { case regular, directory, symbolicLink, other }

    public let kind: Kind
    public let size: UInt64
    public let device: UInt64
    public let inode: UInt64
    /// Permission bits (`st_mode & 0o7777`).
    public let permissions: UInt32
    /// The owner's user ID.
    public let owner: UInt32
    /// Bytes actually allocated (a sparse file has fewer than its size).
    public let allocated: UInt64
    /// What a file that is none of the kinds above is, for messages ("a FIFO").
    public let otherKind: String

    /// Whether `size` may not be what reading gives: a file with no block allocated and at
    /// most 1 MiB (the files of /proc and /sys say 0 or 4096 whatever they hold). Such a file
    /// is read to its end to learn its content (Files.sizeOrContent).
    public var sizeMayLie: Bool { allocated == 0 && size <= 1 << 20 }

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        size = UInt64(max(info.st_size, 0))
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        permissions = UInt32(info.st_mode & 0o7777)
        owner = UInt32(info.st_uid)
        allocated = UInt64(max(info.st_blocks, 0)) * 512
        switch info.st_mode & S_IFMT {
        case S_IFCHR: otherKind = "a character device"
        case S_IFBLK: otherKind = "a block device"
        case S_IFIFO: otherKind = "a FIFO"
        case S_IFSOCK: otherKind = "a socket"
        default: otherKind = "not a regular file"
        }
    }
}
