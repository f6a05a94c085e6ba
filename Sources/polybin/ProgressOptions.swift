import ArgumentParser
import PolybinKit

/// `--quiet` for every verb that can run long enough to show progress.
struct ProgressOptions: ParsableArguments {
    @Flag(help: "Show no progress line (shown on a terminal, on stderr, for steps longer than a second).")
    var quiet = false

    var progress: PolybinKit.Progress { .terminal(quiet: quiet) }
}
