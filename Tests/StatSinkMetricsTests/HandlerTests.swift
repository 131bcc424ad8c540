import CoreMetrics
import StatSinkMetrics
import StatSinkModel
import Testing

let node = NodeIdentity(id: "edge-17", cluster: "edge")

extension StatSinkMetricsFactory {
    /// A snapshot with a fixed time and node.
    func take() -> MetricSnapshot { snapshot(timestampMs: 1_000, node: node) }
}

/// Counters, floating-point counters, meters and gauges, names and handler identity; every test
/// uses a factory of its own, never the global bootstrap.
@Suite struct HandlerTests {
    let factory = StatSinkMetricsFactory()

    @Test func counterReportsCumulativeValueAndDeltaOnEveryFlush() {
        let counter = Counter(label: "requests", factory: factory)
        counter.increment()
        counter.increment(by: 2)
        #expect(factory.take().counters.map { [$0.value, $0.delta] } == [[3, 3]])
        counter.increment(by: 4)
        #expect(factory.take().counters.map { [$0.value, $0.delta] } == [[7, 4]])
        // Unchanged, still emitted.
        #expect(factory.take().counters.map { [$0.value, $0.delta] } == [[7, 0]])
    }

    @Test func counterSaturatesAtUInt64MaxInsteadOfTrapping() {
        let counter = Counter(label: "bytes", factory: factory)
        counter.increment(by: Int64.max)
        counter.increment(by: Int64.max)
        #expect(factory.take().counters.map(\.value) == [UInt64.max - 1])
        counter.increment(by: Int64.max)
        counter.increment()
        let sample = factory.take().counters
        #expect(sample.map(\.value) == [UInt64.max])
        #expect(sample.map(\.delta) == [1])
    }

    @Test func counterIgnoresNegativeIncrementsAndResetMakesTheDeltaTheNewValue() {
        let counter = Counter(label: "c", factory: factory)
        counter.increment(by: -5)
        #expect(factory.take().counters.isEmpty)  // a dropped increment is no use
        counter.increment(by: 10)
        #expect(factory.take().counters.map(\.value) == [10])
        counter.reset()
        counter.increment(by: 3)
        #expect(factory.take().counters.map { [$0.value, $0.delta] } == [[3, 3]])
    }

    @Test func counterIncrementedByZeroIsUsed() {
        Counter(label: "zero", factory: factory).increment(by: 0)
        #expect(factory.take().counters.map { [$0.value, $0.delta] } == [[0, 0]])
    }

    @Test func floatingPointCounterCarriesFractionsIntoTheIntegerCounter() {
        let counter = FloatingPointCounter(label: "seconds", factory: factory)
        counter.increment(by: 0.5)
        counter.increment(by: 0.5)
        counter.increment(by: 0.5)
        counter.increment(by: 1.25)
        #expect(factory.take().counters.map(\.value) == [2])  // 2.75
        counter.increment(by: 0.25)
        #expect(factory.take().counters.map { [$0.value, $0.delta] } == [[3, 1]])
        counter.increment(by: Double.nan)
        counter.increment(by: -1)
        #expect(factory.take().counters.map(\.value) == [3])
        counter.increment(by: Double.infinity)
        #expect(factory.take().counters.map(\.value) == [UInt64.max])
    }

    @Test func counterAndFloatingPointCounterOfOneNameShareOneStat() {
        Counter(label: "work", dimensions: [("kind", "a")], factory: factory).increment(by: 2)
        FloatingPointCounter(label: "work", dimensions: [("kind", "a")], factory: factory).increment(by: 1.5)
        let counters = factory.take().counters
        #expect(counters.count == 1)
        #expect(counters.first?.value == 3)
    }

    @Test func meterSetsIncrementsAndDecrementsAnUnsignedGauge() {
        let meter = Meter(label: "connections", factory: factory)
        meter.set(5)
        meter.increment(by: 2.5)
        #expect(factory.take().gauges.map(\.value) == [8])  // 7.5 rounds half away from zero
        meter.decrement(by: 3.2)
        #expect(factory.take().gauges.map(\.value) == [4])  // 4.3
        meter.decrement(by: 10)
        #expect(factory.take().gauges.map(\.value) == [0])  // -5.7 clamps to 0
        meter.increment(by: -1)
        meter.increment(by: Double.nan)
        meter.set(Double.nan)
        #expect(factory.take().gauges.map(\.value) == [0])  // all ignored
        meter.set(1e30)
        #expect(factory.take().gauges.map(\.value) == [UInt64.max])
        meter.set(Int64.min)
        #expect(factory.take().gauges.map(\.value) == [0])
    }

    @Test func gaugeIsANonAggregatingRecorderSharingTheMetersStat() {
        let gauge = Gauge(label: "queue.depth", factory: factory)
        gauge.record(12)
        gauge.record(9.4)
        #expect(factory.take().gauges.map(\.value) == [9])
        Meter(label: "queue.depth", factory: factory).increment(by: 1)
        #expect(factory.take().gauges.map(\.value) == [10])
        #expect(factory.take().histograms.isEmpty)
    }

    @Test func gaugeSetToZeroIsUsed() {
        Meter(label: "idle", factory: factory).set(0)
        #expect(factory.take().gauges.map(\.value) == [0])
    }

    @Test func labelIsTheNameAndDimensionsAreTheTags() {
        let name = StatSinkMetricsFactory.metricName(label: "http.requests", dimensions: [("method", "GET"), ("status", "200")])
        #expect(name.tagExtractedName == "http.requests")
        #expect(name.tags == [Tag(name: "method", value: "GET"), Tag(name: "status", value: "200")])
        #expect(name.fullName == "http.requests.GET.200")
        #expect(StatSinkMetricsFactory.metricName(label: "up", dimensions: []) == MetricName("up"))
        // Values go in verbatim, dots included, as in Envoy's full names.
        #expect(StatSinkMetricsFactory.metricName(label: "rq", dimensions: [("cluster", "svc.ns")]).fullName == "rq.svc.ns")

        Counter(label: "http.requests", dimensions: [("method", "GET"), ("status", "200")], factory: factory).increment()
        #expect(factory.take().counters.map(\.name) == [name])
    }

    @Test func sameLabelAndDimensionsGiveTheSameHandler() {
        let first = factory.makeCounter(label: "a", dimensions: [("x", "1"), ("y", "2")])
        #expect(factory.makeCounter(label: "a", dimensions: [("x", "1"), ("y", "2")]) === first)
        #expect(factory.makeFloatingPointCounter(label: "a", dimensions: [("x", "1"), ("y", "2")]) === first)
        #expect(factory.makeCounter(label: "a", dimensions: [("y", "2"), ("x", "1")]) !== first)
        #expect(factory.makeCounter(label: "a", dimensions: [("x", "1")]) !== first)
        #expect(factory.makeMeter(label: "g", dimensions: []) === factory.makeRecorder(label: "g", dimensions: [], aggregate: false))
        #expect(factory.makeTimer(label: "h", dimensions: []) === factory.makeRecorder(label: "h", dimensions: [], aggregate: true))
    }

    @Test func onlyUsedMetricsAreEmittedAndThenOnEveryFlushInCreationOrder() {
        let b = Counter(label: "b", factory: factory)
        let a = Counter(label: "a", factory: factory)
        let idle = Counter(label: "idle", factory: factory)
        _ = Meter(label: "m", factory: factory)
        _ = Recorder(label: "r", factory: factory)
        _ = Timer(label: "t", factory: factory)
        #expect(factory.take().isEmpty)
        a.increment()
        b.increment()
        var snapshot = factory.take()
        #expect(snapshot.counters.map(\.name.fullName) == ["b", "a"])
        #expect(snapshot.metricCount == 2)
        Timer(label: "t", factory: factory).recordMilliseconds(3)
        _ = factory.take()
        snapshot = factory.take()
        #expect(snapshot.counters.map(\.name.fullName) == ["b", "a"])
        #expect(snapshot.histograms.map(\.name.fullName) == ["t"])
        #expect(snapshot.histograms.first?.statistics == HistogramStatistics.empty())
        #expect(snapshot.timestampMs == 1_000)
        #expect(snapshot.node == node)
        _ = idle
    }

    @Test func destroyRemovesTheMetricAndMakingItAgainStartsAfresh() {
        let counter = Counter(label: "gone", factory: factory)
        counter.increment(by: 5)
        let meter = Meter(label: "gone.gauge", factory: factory)
        meter.set(1)
        let timer = Timer(label: "gone.timer", factory: factory)
        timer.recordSeconds(1)
        let recorder = Recorder(label: "gone.recorder", factory: factory)
        recorder.record(1)
        Counter(label: "kept", factory: factory).increment()
        #expect(factory.take().metricCount == 5)
        counter.destroy()
        meter.destroy()
        timer.destroy()
        recorder.destroy()
        #expect(factory.take().counters.map(\.name.fullName) == ["kept"])
        #expect(factory.take().metricCount == 1)
        counter.increment()  // the destroyed handle still works; nothing reports it
        let again = Counter(label: "gone", factory: factory)
        again.increment(by: 2)
        #expect(factory.take().counters.map { "\($0.name.fullName)=\($0.value)" } == ["kept=1", "gone=2"])
    }

    @Test func concurrentIncrementsAreAllCounted() async {
        let counter = Counter(label: "concurrent", factory: factory)
        let histogram = Recorder(label: "concurrent.h", factory: factory)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for index in 0..<50_000 {
                        counter.increment()
                        if index % 10 == 0 { histogram.record(index % 7) }
                    }
                }
            }
        }
        let snapshot = factory.take()
        #expect(snapshot.counters.first?.value == 200_000)
        #expect(snapshot.histograms.first?.statistics.sampleCount == 20_000)
    }
}
