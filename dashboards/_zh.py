"""Chinese text of the generated dashboards and alerts (``python -m camwatch.dashboards.generate --lang zh``).

``ZH``: every dashboard text (titles, panel names and descriptions, legends, column and state names), keyed by
its English. ``ZH_ALERTS``: each alert's summary and description, keyed by the alert's name; they are Go
templates like the English ones, and their ``${...}`` placeholders are filled by ``_rules.py`` (durations and
templates shared with the English text). A text missing here fails the Chinese generation, naming it.
"""

ZH: dict[str, str] = {
    "Decode errors": "解码错误",
    "Monitored cameras that answer but whose picture never comes (no_video): SETUP or PLAY refused, no RTP, "
    "nothing decodable. Online, not in working order.": (
        "能应答但取不到图像的受监测摄像机（no_video）：SETUP 或 PLAY 被拒、收不到 RTP、无法解码。"
        "在线但不完好。"
    ),
    "Online, no picture (在线不出图)": "在线不出图",
    "Picture": "图像",
    "Share of the decoded frames in error (花屏); above half the picture counts as none (no_video).": (
        "解码出错的帧占比（花屏）；超过一半即视为无图像（no_video）。"
    ),
    "no picture": "无图像",
    "picture": "有图像",
    # shared: product, levels, states
    "camwatch": "camwatch",
    "County": "县（区）",
    "Township": "乡镇（街道）",
    "Village": "村（社区）",
    "Police station": "派出所",
    "Area": "区域",
    "Category": "类别",
    "Camera": "摄像机",
    "Cameras": "摄像机",
    "Basemap": "底图",
    "Camera detail for": "摄像机详情：",
    "ok": "正常",
    "failed": "失败",
    "up": "在线",
    "down": "离线",
    "video fault": "图像故障",
    "maintenance": "维护中",
    "in service": "在用",
    "clear": "无故障",
    "fault": "故障",
    "State": "状态",
    "Status": "状态",
    # fleet overview
    "camwatch / Fleet overview": "camwatch / 设备总览",
    "Health of every camera camwatch monitors, and of camwatch's own probing.": (
        "camwatch 监测的全部摄像机的运行状况，以及 camwatch 自身的探测情况。"
    ),
    "Online rate (在线率)": "在线率",
    "Share of monitored cameras answering their probes; cameras under maintenance are excluded.": (
        "应答探测的摄像机占受监测摄像机的比例；维护中的摄像机不计入。"
    ),
    "Working-order rate (完好率)": "完好率",
    "Share of monitored cameras that are online with a usable picture (no video fault).": (
        "在线且图像可用（无图像故障）的摄像机占受监测摄像机的比例。"
    ),
    "Cameras monitored": "受监测摄像机数",
    "Cameras not under maintenance.": "不在维护中的摄像机。",
    "Cameras down": "离线摄像机数",
    "Monitored cameras failing probes.": "探测失败的受监测摄像机。",
    "Under maintenance": "维护中",
    "Cameras marked for repair.": "已登记维修的摄像机。",
    "Offline clusters": "成片离线",
    "Groups of cameras that went down together (shared switch, fibre, power, site or place).": (
        "同时离线的一组摄像机（共用交换机、光缆、供电、点位或地点）。"
    ),
    "online (在线率)": "在线率",
    "working order (完好率)": "完好率",
    "Online and working-order rate": "在线率与完好率",
    "Cameras by status": "各状态摄像机数",
    "Cameras by video fault": "各类图像故障摄像机数",
    "Cameras down now (since when)": "当前离线摄像机（离线起始时间）",
    "Down cameras, longest down first, with when each last changed state.": (
        "离线摄像机，离线最久的在前，并显示每台最近一次状态变化的时间。"
    ),
    "cameras down": "离线摄像机数",
    "Active offline clusters": "当前成片离线",
    "One row per cluster of cameras that became unreachable together, what they share, and whether that was "
    "seen (onset observed) or they were down before monitoring began.": (
        "每行一组同时失联的摄像机：它们共用什么，以及是监测中观察到的（onset observed）"
        "还是监测开始前就已离线。"
    ),
    "up/down changes": "上下线次数",
    "Flapping cameras": "频繁上下线的摄像机",
    "Cameras that changed between up and down most often in the selected time range.": (
        "所选时间段内在线与离线之间切换最频繁的摄像机。"
    ),
    "Online rate per county": "各县（区）在线率",
    "p90 {{probe}}": "90分位 {{probe}}",
    "max {{probe}}": "最大 {{probe}}",
    "Probe latency": "探测耗时",
    "Duration of the latest probe of each camera, across cameras.": "各摄像机最近一次探测的耗时分布。",
    "oldest {{probe}}": "最久 {{probe}}",
    "Probe staleness": "探测陈旧度",
    "Age of the oldest latest probe per probe type; grows when probing falls behind.": (
        "每种探测中最久未更新的结果距今时长；探测跟不上时会持续增长。"
    ),
    "Probe results": "探测结果",
    "p50": "50分位",
    "p90": "90分位",
    "p99": "99分位",
    "Scheduler lateness": "调度延迟",
    "How late probes start against their schedule; sustained growth means overload.": (
        "探测比计划晚开始的时间；持续增长说明负载过高。"
    ),
    "since last probe": "距上次探测",
    "Stalest cameras": "最久未探测的摄像机",
    "Last config reload": "最近一次配置重载",
    "GB/T 28181 devices up": "GB/T 28181 在线设备",
    "Registered devices and lower platforms keeping alive.": "已注册并保持心跳的设备和下级平台。",
    "GB/T 28181 devices down": "GB/T 28181 离线设备",
    "Registered devices silent past their keepalive deadline: all their channels are down.": (
        "超过心跳时限未上报的已注册设备：其全部通道均离线。"
    ),
    "GB/T 28181 channels up": "GB/T 28181 在线通道",
    "Channels in the devices' catalogs that are up (device online, channel not OFF).": (
        "设备目录中在线的通道（设备在线且通道状态不是 OFF）。"
    ),
    "GB/T 28181 channels down": "GB/T 28181 离线通道",
    "Channels reported OFF, or behind a silent device.": "上报为 OFF 的通道，或所属设备已失联的通道。",
    "Unknown channels": "未登记通道",
    "Channels no ledger camera links by gb_id (国标编码): counted, not monitored as cameras.": (
        "台账中没有摄像机以国标编码关联的通道：只计数，不作为摄像机监测。"
    ),
    "Largest device clock offset": "设备最大时钟偏差",
    "Largest |device clock − camwatch clock| from DeviceStatus answers.": (
        "DeviceStatus 应答中 |设备时钟 − camwatch 时钟| 的最大值。"
    ),
    "Since keepalive": "距上次心跳",
    "Channels up": "在线通道",
    "Channels down": "离线通道",
    "Clock offset": "时钟偏差",
    "GB/T 28181 devices": "GB/T 28181 设备",
    "Each registered device of each camwatch, silent ones first: seconds since its last keepalive, its "
    "catalog's channels up and down, those no ledger camera links, its clock offset (where it answers "
    "DeviceStatus).": (
        "各 camwatch 的每台已注册设备，失联的在前：距上次心跳的秒数、目录中在线和离线的通道数、"
        "台账未关联的通道数，以及时钟偏差（设备应答 DeviceStatus 时）。"
    ),
    "Keepalive age per device": "各设备心跳间隔",
    "Seconds since each device's last keepalive: a sawtooth below the keepalive interval while it lives; a "
    "line climbing past interval × count is a silent device.": (
        "各设备距上次心跳的秒数：设备正常时呈低于心跳间隔的锯齿形；"
        "持续上升超过 间隔 × 次数 的曲线表示设备已失联。"
    ),
    # area drill-down
    "camwatch / Area drill-down": "camwatch / 区域下钻",
    "Online and working-order rates by county, township, village and police station, with a map.": (
        "按县（区）、乡镇（街道）、村（社区）和派出所统计的在线率与完好率，附地图。"
    ),
    "Online rate": "在线率",
    "Working-order rate": "完好率",
    "County ranking": "县（区）排名",
    "Each county of the selection, lowest online rate first.": "所选范围内的各县（区），在线率最低的在前。",
    "Township ranking": "乡镇（街道）排名",
    "Each township of the selection, lowest online rate first.": (
        "所选范围内的各乡镇（街道），在线率最低的在前。"
    ),
    "Village ranking": "村（社区）排名",
    "Each village of the selection, lowest online rate first.": (
        "所选范围内的各村（社区），在线率最低的在前。"
    ),
    "Police station ranking": "派出所排名",
    "Each police station of the selection, lowest online rate first.": (
        "所选范围内的各派出所辖区，在线率最低的在前。"
    ),
    "Cameras by state": "摄像机状态分布图",
    "Every camera of the selection at its ledger position: green ok, orange video fault, red down, blue "
    "under maintenance.": (
        "所选范围内的每台摄像机按台账位置显示：绿色正常，橙色图像故障，红色离线，蓝色维护中。"
    ),
    "Online rate per township": "各乡镇（街道）在线率",
    "Cameras in the selection": "所选范围内的摄像机",
    # camera detail
    "camwatch / Camera detail": "camwatch / 摄像机详情",
    "Everything camwatch knows about one camera, over time.": "camwatch 掌握的单台摄像机的全部情况及其变化。",
    "camwatch URL": "camwatch 地址",
    "Base URL of the camwatch service, for snapshot links.": "camwatch 服务的基础地址，用于快照链接。",
    "Latest snapshot": "最新快照",
    "Ledger": "台账",
    "Up": "在线",
    "State since": "状态起始时间",
    "Maintenance": "维护",
    "Up/down changes in range": "时间段内上下线次数",
    "Up over time": "在线状态变化",
    "Video faults over time": "图像故障变化",
    "Camera's own events over time": "摄像机自身上报事件变化",
    "What the camera's on-board analytics report over ONVIF events (tamper, signal loss, scene change, too "
    "blurry, too dark, too bright, storage failure), apart from the faults camwatch measures. Empty for a "
    "camera without ONVIF events.": (
        "摄像机机内智能分析通过 ONVIF 事件上报的情况（遮挡/破坏、信号丢失、场景变化、图像模糊、过暗、过亮、"
        "存储故障），与 camwatch 自己检测的故障分开显示。摄像机不支持 ONVIF 事件时为空。"
    ),
    "camera reports": "摄像机上报",
    "Frame rate": "帧率",
    "Frames per second decoded.": "每秒解码的帧数。",
    "Brightness (luma)": "亮度",
    "Mean luma, 0–255; near 0 is a black picture.": "平均亮度，0–255；接近 0 为黑屏。",
    "Sharpness": "清晰度",
    "Variance of the Laplacian; a drop means blur, fog or a covered lens.": (
        "拉普拉斯方差；下降表示模糊、起雾或镜头被遮挡。"
    ),
    "luma": "亮度",
    "sharpness": "清晰度",
    "scene match": "场景匹配度",
    "Still picture (snapshot)": "静态图像（快照）",
    "The snapshot probe's still picture: mean luma (0–255), sharpness and match with the camera's reference "
    "view (0–1); its faults show with the video faults.": (
        "快照探测的静态图像：平均亮度（0–255）、清晰度以及与该摄像机参考画面的匹配度（0–1）；"
        "其故障与图像故障一起显示。"
    ),
    "Camera clock minus camwatch's clock, from ONVIF GetSystemDateAndTime.": (
        "摄像机时钟减去 camwatch 时钟，取自 ONVIF GetSystemDateAndTime。"
    ),
    "Probe duration": "探测耗时",
    "Probe success": "探测成功",
    # coverage
    "camwatch / Coverage": "camwatch / 覆盖率",
    "How much of each road, intersection and key-site category the cameras cover, per area; effective "
    "coverage counts only cameras that are up.": (
        "各区域内摄像机对各类道路、路口和重点场所的覆盖程度；有效覆盖率只计在线的摄像机。"
    ),
    "Area × category below target": "未达标的区域 × 类别",
    "Pairs whose effective coverage misses the category's target.": "有效覆盖率未达到该类别目标的组合。",
    "Largest shortfall": "最大缺口",
    "Effective coverage minus target for the worst area and category.": (
        "最差区域和类别的有效覆盖率减去目标值。"
    ),
    "Mean design coverage": "平均设计覆盖率",
    "Coverage if every camera were up.": "假设全部摄像机在线时的覆盖率。",
    "Mean effective coverage": "平均有效覆盖率",
    "Coverage by the cameras that are up now.": "当前在线摄像机的覆盖率。",
    "Coverage": "覆盖率",
    "Effective coverage": "有效覆盖率",
    "Target": "目标",
    "Effective − target": "有效覆盖率 − 目标",
    "Coverage by area and category": "各区域各类别覆盖率",
    "target {{category}}": "目标 {{category}}",
    "Effective coverage and target": "有效覆盖率与目标",
    "Effective coverage by category": "各类别有效覆盖率",
    "The lowest effective coverage of each category over the selected areas.": (
        "所选区域中各类别的最低有效覆盖率。"
    ),
    # recordings (录像)
    "Recordings (录像)": "录像",
    "Recordings stopped": "录像已停止",
    "Cameras up whose newest footage is older than monitor.recording.stopped_after (recorder's clock): their "
    "recording has stopped.": (
        "摄像机在线，但最新录像早于 monitor.recording.stopped_after（按录像机时钟）：录像已停止。"
    ),
    "Recordings with gaps": "录像有缺失",
    "Cameras whose footage of the last 24 hours has a hole longer than monitor.recording.gap.": (
        "最近 24 小时的录像中有长于 monitor.recording.gap 的缺失的摄像机。"
    ),
    "Retention short": "录像保存不足",
    "Cameras whose recorder keeps less footage than their retention target (by site category and area).": (
        "录像机保存的录像少于其保存期限要求（按场所类别和区域）的摄像机。"
    ),
    "Recorder disks failed": "录像机硬盘故障",
    "Recorder disks failed, unformatted, read-only, or full with overwrite off (storage_fault).": (
        "录像机硬盘故障、未格式化、只读，或已满且未开启覆盖（storage_fault）。"
    ),
    "Shortest retention": "最短录像保存时长",
    "The least footage any recorded camera keeps (now − its oldest footage).": (
        "各摄像机中保存录像最少的时长（当前时间 − 最早录像）。"
    ),
    "Footage in the last 24 h": "最近 24 小时录像",
    "Share of the last 24 hours recorded, averaged over the recorded cameras.": (
        "最近 24 小时中有录像的时间占比，按有录像机的摄像机平均。"
    ),
    "Retention against target (lowest 15)": "录像保存时长与要求之比（最低 15 台）",
    "Footage kept ÷ the camera's retention target (monitor.recording.retention): below 100 % the recorder "
    "keeps less than the law asks.": (
        "已保存录像时长 ÷ 该摄像机的保存期限要求（monitor.recording.retention）：低于 100% 即少于规定。"
    ),
    "Recordings stopped (newest footage)": "录像已停止的摄像机（最新录像）",
    "Cameras up whose recording stopped, with how old their newest footage is.": (
        "在线但录像已停止的摄像机，及其最新录像距今时长。"
    ),
    "newest footage age": "最新录像距今",
    "Newest footage age": "最新录像距今",
    "Recorder disks": "录像机硬盘",
    "Each disk of each recorder (ISAPI storage, ONVIF storage configurations), failed ones first; a failed "
    "disk pages once for the recorder (RecorderStorageFault).": (
        "各录像机的每块硬盘（ISAPI 存储、ONVIF 存储配置），故障的排在前面；硬盘故障按录像机只告警一次"
        "（RecorderStorageFault）。"
    ),
    "Disk state": "硬盘状态",
    "Capacity": "容量",
    "Free": "剩余空间",
    "Retention and its target": "录像保存时长与要求",
    "footage kept": "已保存录像",
    "target": "要求",
    "Age of the oldest footage the recorder keeps, against the camera's retention target "
    "(monitor.recording.retention).": (
        "录像机保存的最早录像距今时长，对比该摄像机的保存期限要求（monitor.recording.retention）。"
    ),
    "age": "距今",
    "Age of the end of the newest footage on the recorder's clock; past monitor.recording.stopped_after the "
    "recording has stopped.": (
        "最新录像结束时刻距今的时长（按录像机时钟）；超过 monitor.recording.stopped_after 即录像已停止。"
    ),
    "Footage and gaps in the last 24 h": "最近 24 小时录像与缺失",
    "footage": "有录像",
    "missing": "缺失",
    "Seconds recorded in the last 24 hours and the seconds missing; the gaps longer than "
    "monitor.recording.gap show as the recording_gaps fault.": (
        "最近 24 小时有录像的秒数与缺失的秒数；长于 monitor.recording.gap 的缺失显示为 recording_gaps 故障。"
    ),
}

# Units of the rules' durations (``for``), as the alerts' text reads them.
ZH_UNITS = {"s": "秒", "m": "分钟", "h": "小时", "d": "天"}

# Where a camera stands, as the alerts name it.
CAMERA_PLACE = (
    "{{ $labels.name }}，位于 {{ $labels.county }}{{ $labels.township }}{{ $labels.village }}"
    " {{ $labels.site }}"
)
CLUSTER_ONSET = '{{ if eq $labels.onset "before_monitoring" }}在监测开始前就已失联{{ else }}同时失联{{ end }}'

ZH_ALERTS: dict[str, tuple[str, str]] = {
    "CameraDown": (
        "摄像机 {{ $labels.camera }} 离线",
        f"摄像机 {{{{ $labels.camera }}}}（{CAMERA_PLACE}）已连续 ${{duration}}探测失败。",
    ),
    "CameraVideoFault": (
        "摄像机 {{ $labels.camera }} 图像故障：{{ $labels.fault }}",
        f"摄像机 {{{{ $labels.camera }}}}（{CAMERA_PLACE}）的图像已连续 ${{duration}}被判定为 "
        "{{ $labels.fault }}。",
    ),
    "CameraNoVideo": (
        "摄像机 {{ $labels.camera }} 在线不出图",
        f"摄像机 {{{{ $labels.camera }}}}（{CAMERA_PLACE}）能应答，但已连续 ${{duration}}取不到图像："
        "SETUP 或 PLAY 被拒、收不到 RTP（防火墙或 NAT）或无法解码。视频检测的错误信息说明是哪一种。",
    ),
    "NoVideoCluster": (
        "${kind} {{ $labels.${label} }} 下 {{ $value }} 台摄像机不出图",
        "{{ $labels.county }}{{ $labels.township }} ${kind} {{ $labels.${label} }} 下 {{ $value }} 台"
        "摄像机能应答，"
        "已连续 ${duration}同时取不到图像：RTP 很可能在途中被拦截（防火墙、NAT、流媒体服务器）。"
        "这些摄像机的不出图告警已静默，重点摄像机除外。",
    ),
    "CameraClockSkew": (
        "摄像机 {{ $labels.camera }} 时钟不准",
        f"摄像机 {{{{ $labels.camera }}}}（{CAMERA_PLACE}）的时钟偏差 "
        '{{ with query (printf "camwatch_onvif_clock_offset_seconds{camera=%q, instance=%q}"'
        " $labels.camera $labels.instance) }}"
        '{{ . | first | value | printf "%.0f" }}{{ end }} 秒；录像时间不准确。',
    ),
    "CameraTampered": (
        "摄像机 {{ $labels.camera }} 上报遮挡/破坏",
        f"摄像机 {{{{ $labels.camera }}}}（{CAMERA_PLACE}）已连续 ${{duration}}上报遮挡/破坏："
        "其自身的防破坏检测（ONVIF 事件）认为镜头被遮挡、转动或喷涂。",
    ),
    "CameraRecordingStopped": (
        "摄像机 {{ $labels.camera }} 录像已停止",
        f"摄像机 {{{{ $labels.camera }}}}（{CAMERA_PLACE}）在线，但其录像机最近 ${{last_age}}内没有它的录像："
        "录像已停止。",
    ),
    "CameraRecordingGaps": (
        "摄像机 {{ $labels.camera }} 录像有缺失",
        f"摄像机 {{{{ $labels.camera }}}}（{CAMERA_PLACE}）最近 24 小时的录像有 ${{gaps}} 处缺失"
        "（长于 monitor.recording.gap）。",
    ),
    "CameraRetentionShort": (
        "摄像机 {{ $labels.camera }} 录像保存天数不足",
        f"摄像机 {{{{ $labels.camera }}}}（{CAMERA_PLACE}）的录像机只保存了 ${{retention}} 的录像，"
        "低于其保存期限要求。",
    ),
    "RecorderStorageFault": (
        "录像机 {{ $labels.recorder }} 有 {{ $value }} 块硬盘故障",
        "录像机 {{ $labels.recorder }} 有 {{ $value }} 块硬盘故障、未格式化或只读：其各通道的录像面临丢失。"
        "这些通道的录像停止告警已静默。",
    ),
    "OfflineCluster": (
        "{{ $labels.kind }} {{ $labels.key }} 下 {{ $value }} 台摄像机同时失联",
        "{{ $labels.county }}{{ $labels.township }} {{ $labels.kind }} {{ $labels.key }} 下"
        " {{ $value }} 台摄像机"
        + CLUSTER_ONSET
        + "（其受监测摄像机的 ${cluster_share} 失联）：${cluster_cameras}。"
        "这些摄像机的离线告警已静默，重点摄像机除外。",
    ),
    "Gb28181DeviceDown": (
        "GB/T 28181 设备 {{ $labels.device }} 及其 {{ $value }} 个通道失联",
        "GB/T 28181 设备 {{ $labels.device }}（向 {{ $labels.instance }} 注册的 IPC、NVR 或下级平台）"
        "超过心跳时限（间隔 × 次数）未上报：该设备及其 {{ $value }} 个通道离线。"
        "其关联摄像机形成的成片离线（${cluster_key}）不再告警，这些摄像机的离线告警也静默，重点摄像机除外。",
    ),
    "AreaOnlineRateLow": (
        "${level} ${place} 在线率为 {{ $value | humanizePercentage }}",
        "${level} ${place} 的受监测摄像机在线率已连续 15 分钟低于目标 ${target}（维护中的摄像机不计入）。",
    ),
    "CoverageBelowTarget": (
        "{{ $labels.area }} 的 {{ $labels.category }} 覆盖率未达标",
        "{{ $labels.area }} 在线摄像机对 {{ $labels.category }} 的覆盖率为"
        " {{ $value | humanizePercentage }}，"
        "低于目标 "
        '{{ with query (printf "max(camwatch_coverage_target_ratio{category=%q})"'
        " $labels.category) }}"
        "{{ . | first | value | humanizePercentage }}{{ end }}。",
    ),
    "CamwatchProbesStale": (
        "camwatch {{ $labels.instance }} 已停止探测 {{ $value }} 台摄像机",
        "{{ $labels.instance }} 有 {{ $value }} 台摄像机超过 ${stale_minutes} 分钟未被探测："
        "调度已停滞或过载，仪表盘上这些摄像机的状态已过时。",
    ),
    "CamwatchDown": (
        "camwatch {{ $labels.instance }} 无法采集",
        "Prometheus 已连续 5 分钟无法采集 {{ $labels.instance }}：它监测的摄像机均无人值守。",
    ),
    "CamwatchConfigReloadFailed": (
        "camwatch {{ $labels.instance }} 拒绝了新配置",
        "{{ $labels.instance }} 最近一次重载配置失败，仍按之前的配置运行。"
        "运行 `camwatch check-config` 查看原因。",
    ),
}
