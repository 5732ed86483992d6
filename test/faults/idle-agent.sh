#!/bin/sh
# An agent that never signals: it idles like one waiting at its prompt.
echo "idle $KASMOS_INSTANCE_TITLE"
exec sleep 600
