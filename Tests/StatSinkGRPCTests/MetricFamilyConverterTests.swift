import StatSinkModel
import StatSinkProtobuf
import Testing

@testable import StatSinkGRPC

/// One family as Envoy's `MetricsFlusher` fills it.
func family(
    _ name: String, _ type: Io_Prometheus_Client_MetricType, labels: [(String, String)] = [], timestampMs: Int64? = 1000,
    fill: (inout Io_Prometheus_Client_Metric) -> Void
) -> Io_Prometheus_Client_MetricFamily {
    var family = Io_Prometheus_Client_MetricFamily()
    family.name = name
    family.type = type
    var metric = Io_Prometheus_Client_Metric()
    if let timestampMs { metric.timestampMs = timestampMs }
    metric.label = labels.map { name, value in
        var label = Io_Prometheus_Client_LabelPair()
        label.name = name
        label.value = value
        return label
    }
    fill(&metric)
    family.metric = [metric]
    return family
}

func counterFamily(_ name: String, _ value: Double, labels: [(String, String)] = [], timestampMs: Int64? = 1000) -> Io_Prometheus_Client_MetricFamily {
    family(name, .counter, labels: labels, timestampMs: timestampMs) { $0.counter.value = value }
}

@Suite("Prometheus families to the model")
struct MetricFamilyConverterTests {
    @Test func familiesWithoutLabelsCarryTheFullName() throws {
        let converted = try MetricFamilyConverter.convert([counterFamily("cluster.svc.upstream_rq_total", 5)])
        guard case .counter(let counter) = converted.first?.value else { Issue.record("not a counter"); return }
        #expect(counter.name == MetricName("cluster.svc.upstream_rq_total"))
        #expect(counter.value == 5)
        #expect(counter.delta == 5)
        #expect(converted.first?.timestampMs == 1000)
    }

    @Test func labelsBecomeTagsAndTheFullNameIsDerivedUniquely() {
        let name = MetricFamilyConverter.metricName("cluster.upstream_rq", labels: [
            label("envoy.cluster_name", "svc"), label("envoy.response_code", "200"),
        ])
        #expect(name.tagExtractedName == "cluster.upstream_rq")
        #expect(name.tags == [Tag(name: "envoy.cluster_name", value: "svc"), Tag(name: "envoy.response_code", value: "200")])
        #expect(name.fullName == #"cluster.upstream_rq{envoy.cluster_name="svc",envoy.response_code="200"}"#)
        let escaped = MetricFamilyConverter.metricName("x", labels: [label("k", "a\"b\\c\nd")])
        #expect(escaped.fullName == #"x{k="a\"b\\c\nd"}"#)
    }

    @Test(arguments: [
        (5.0, UInt64(5)), (5.5, 6), (4.4, 4), (-3, 0), (-0.0, 0), (.nan, 0), (.infinity, .max), (1e30, .max),
        (9_007_199_254_740_992, 9_007_199_254_740_992), (18_446_744_073_709_549_568, 18_446_744_073_709_549_568),
    ])
    func doublesBecomeUnsignedIntegers(value: Double, expected: UInt64) {
        #expect(MetricFamilyConverter.unsignedValue(value) == expected)
    }

    @Test func histogramBucketsDropPlusInfinity() throws {
        let converted = try MetricFamilyConverter.convert([family("h", .histogram) { metric in
            metric.histogram.sampleCount = 3
            metric.histogram.sampleSum = 7.5
            metric.histogram.bucket = [(1.0, UInt64(1)), (10, 3), (.infinity, 3)].map { bound, count in
                var bucket = Io_Prometheus_Client_Bucket()
                bucket.upperBound = bound
                bucket.cumulativeCount = count
                return bucket
            }
        }])
        guard case .histogram(_, let half) = converted.first?.value else { Issue.record("not a histogram"); return }
        #expect(half.points == [1, 10])
        #expect(half.counts == [1, 3])
        #expect(half.sampleCount == 3)
        #expect(half.sampleSum == 7.5)
    }

    static let rejected: [(family: Io_Prometheus_Client_MetricFamily, message: String)] = [
        (family("u", .untyped) { $0.untyped.value = 1 }, #"metric family "u" has type UNTYPED, which Envoy does not send"#),
        (family("gh", .gaugeHistogram) { $0.histogram.sampleCount = 1 }, "type GAUGE_HISTOGRAM"),
        (family("n", .histogram) { $0.histogram.schema = 3 }, #""n" is a native (sparse or float) histogram"#),
        (family("f", .histogram) { $0.histogram.sampleCountFloat = 2 }, "native"),
        (family("c", .counter) { $0.gauge.value = 1 }, #"metric family "c" of type COUNTER has a metric without its counter value"#),
        (family("g", .gauge) { _ in }, "without its gauge value"),
        (family("s", .summary) { _ in }, "without its summary value"),
        (family("h", .histogram) { _ in }, "without its histogram value"),
    ]

    @Test(arguments: rejected)
    func unsupportedFamiliesAreRejectedByName(_ family: Io_Prometheus_Client_MetricFamily, message: String) {
        #expect {
            _ = try MetricFamilyConverter.convert([counterFamily("ok", 1), family])
        } throws: { error in
            (error as? MalformedMetricsError)?.message.contains(message) == true
        }
    }
}

func label(_ name: String, _ value: String) -> Io_Prometheus_Client_LabelPair {
    var label = Io_Prometheus_Client_LabelPair()
    label.name = name
    label.value = value
    return label
}
