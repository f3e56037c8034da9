"""The picture wing: measures and decisions on a camera's picture (analysis, scene, OSD, VQD faults), the
learned references they are judged against, and the decoder relay the video probe reads pictures through;
shared by the video and snapshot probes."""
