"""ld-segment: replay Segment event exports into LaunchDarkly, as Segment's LaunchDarkly (Actions) destination would."""

__version__ = "0.1.0"
