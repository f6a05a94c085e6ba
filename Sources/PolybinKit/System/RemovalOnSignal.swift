import CPolybin

/// A temporary file or scratch directory that is removed if polybin dies of SIGINT, SIGTERM,
/// SIGHUP or SIGQUIT before `keep()` (CSupport/CPolybin/system/interrupt.c): a Ctrl-C in the
/// middle of packing 300 MB leaves neither `.OUT.tmp-PID` nor a scratch directory behind.
/// SIGKILL cannot be caught; its leftovers keep the `.NAME.tmp-PID` name, which later runs ignore.
struct RemovalOnSignal {
    private let slot: Int32

    init(_ path: FilePath, directory: Bool = false) {
        slot = (try? path.withCString("pb_remove_on_signal") { pb_remove_on_signal($0, directory ? 1 : 0) }) ?? -1
    }

    /// The path has been renamed into place or removed: a signal no longer touches it.
    func keep() { pb_keep_on_signal(slot) }
}
