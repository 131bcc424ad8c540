// The snapshot generators live in StatSinkSynthetic (the product's synthetic source uses them);
// tests get them through the TestKit.
@_exported import StatSinkSynthetic
