import ArgumentParser
import PolybinKit

// Options with fixed choices are types, so --help lists the choices and the completion
// scripts (`polybin --generate-completion-script bash|zsh|fish`) offer them.

extension EmbedMode: ExpressibleByArgument {}
extension DepfileFormat: ExpressibleByArgument {}

/// `--target x86-64|aarch64` (x86_64, amd64 and arm64 are accepted too).
extension Architecture: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.name) }
}

/// `--exec cache,memfd,tmpfile`: an order of exec strategies (any non-empty subset).
extension ExecOrder {
    /// Every order the runner accepts: each non-empty subset in each order (15 of them).
    static var every: [String] {
        func orders(_ rest: [ExecStrategy]) -> [[ExecStrategy]] {
            rest.flatMap { first in [[first]] + orders(rest.filter { $0 != first }).map { [first] + $0 } }
        }
        return orders(ExecOrder.standard.strategies).map { ExecOrder($0).description }
    }
}

/// `--reference auto|FLAVOR`: which build the others are stored as deltas against.
enum ReferenceChoice: ExpressibleByArgument, CustomStringConvertible {
    case auto
    case flavor(String)

    init?(argument: String) {
        guard !argument.isEmpty else { return nil }
        self = argument == "auto" ? .auto : .flavor(argument)
    }

    /// Completion offers auto and the levels; any flavor name of the fatbin is accepted.
    static var defaultCompletionKind: CompletionKind { .list(["auto"] + levelNames) }

    var packerReference: FatbinPacker.Reference {
        switch self {
        case .auto: .auto
        case .flavor(let name): .named(name)
        }
    }

    var description: String {
        switch self {
        case .auto: "auto"
        case .flavor(let name): name
        }
    }
}

/// Every architecture's levels, as `--flavor LEVEL=PATH` and `--reference` spell them.
let levelNames = Architecture.allCases.flatMap(\.levelNames)
