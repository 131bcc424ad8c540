/// The identity of a swift-metrics metric: its label and its dimensions, in the order given.
struct MetricKey: Hashable, Sendable {
    var label: String
    var dimensionNames: [String]
    var dimensionValues: [String]

    init(label: String, dimensions: [(String, String)]) {
        self.label = label
        dimensionNames = dimensions.map(\.0)
        dimensionValues = dimensions.map(\.1)
    }
}

/// The live metrics of one Envoy type, in creation order (the order snapshots list them in).
struct MetricTable<Handler: AnyObject & Sendable> {
    private var positions: [MetricKey: Int] = [:]
    private var keys: [MetricKey] = []
    /// The handlers, oldest first.
    private(set) var handlers: [Handler] = []

    /// The handler of `key`, if it was made.
    func existingHandler(for key: MetricKey) -> Handler? {
        positions[key].map { handlers[$0] }
    }

    /// The handler of `key`, made by `make` the first time.
    mutating func handler(for key: MetricKey, make: () -> Handler) -> Handler {
        if let existing = existingHandler(for: key) { return existing }
        let handler = make()
        positions[key] = handlers.count
        keys.append(key)
        handlers.append(handler)
        return handler
    }

    /// Forgets `handler` (a linear search: destroying is rare); a later ``handler(for:make:)``
    /// with its key makes a new one.
    mutating func remove(_ handler: AnyObject) {
        guard let position = handlers.firstIndex(where: { $0 === handler }) else { return }
        positions[keys[position]] = nil
        keys.remove(at: position)
        handlers.remove(at: position)
        for later in position..<keys.count { positions[keys[later]] = later }
    }
}
