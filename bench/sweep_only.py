"""`frontdesk daemon` as it was first designed: the minute sweep alone.

The timeliness bench runs this as its reference. The real command runs,
with one change made before it starts: the sweep arms no wake-ups, so
nothing fires between sweeps. The bench process, for its part, schedules
these messages without the queue hook, so no ETA task is enqueued either.
"""

import sys
from datetime import timedelta

import daemon.sweep
from cli.main import main

daemon.sweep.ARM_AHEAD = timedelta(0)
sys.exit(main(sys.argv[1:]))
