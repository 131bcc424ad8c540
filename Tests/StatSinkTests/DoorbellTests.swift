@testable import StatSink
import Testing

@Suite("Doorbell")
struct DoorbellTests {
    let clock = ContinuousClock()

    @Test func aRingWithNoOneWaitingIsKeptForTheNextWaitOnly() async {
        let bell = Doorbell()
        bell.ring()
        bell.ring()
        var start = clock.now
        await bell.wait(upTo: .seconds(120))
        #expect(clock.now - start < .seconds(100))
        // Two rings are one: the next wait runs to its timeout.
        start = clock.now
        await bell.wait(upTo: .milliseconds(100))
        #expect(clock.now - start >= .milliseconds(100))
    }

    // Bounds are loose: other suites' synchronous tests may hold the cooperative pool's threads
    // for seconds. A bell that did not work would run into the 120 s timeouts.
    @Test func aRingWakesTheWaiterLongBeforeItsTimeout() async throws {
        let bell = Doorbell()
        let start = clock.now
        for _ in 0..<20 {
            async let waited: Void = bell.wait(upTo: .seconds(120))
            try await Task.sleep(for: .milliseconds(5))
            bell.ring()
            await waited
        }
        #expect(clock.now - start < .seconds(100))
    }

    @Test func cancellationEndsTheWait() async {
        let bell = Doorbell()
        let start = clock.now
        let waiter = Task { await bell.wait(upTo: .seconds(120)) }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await waiter.value
        #expect(clock.now - start < .seconds(100))
    }
}
