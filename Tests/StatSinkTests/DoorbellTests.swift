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
        await bell.wait(upTo: .seconds(10))
        #expect(clock.now - start < .seconds(1))
        // Two rings are one: the next wait runs to its timeout.
        start = clock.now
        await bell.wait(upTo: .milliseconds(100))
        #expect(clock.now - start >= .milliseconds(100))
    }

    @Test func aRingWakesTheWaiterLongBeforeItsTimeout() async throws {
        let bell = Doorbell()
        for _ in 0..<20 {
            let start = clock.now
            async let waited: Void = bell.wait(upTo: .seconds(10))
            try await Task.sleep(for: .milliseconds(5))
            bell.ring()
            await waited
            #expect(clock.now - start < .seconds(5))
        }
    }

    @Test func cancellationEndsTheWait() async {
        let bell = Doorbell()
        let start = clock.now
        let waiter = Task { await bell.wait(upTo: .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await waiter.value
        #expect(clock.now - start < .seconds(10))
    }
}
