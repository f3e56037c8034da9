"""GB/T 28181: camwatch as an upper platform (上级平台) that devices and lower platforms register with."""
