# Segment's two LaunchDarkly presets (Track Event, Alias User) with their default fields, as a jq program.
# What a user would otherwise hand-write. Timestamps are ISO 8601 UTC with milliseconds, as Segment exports them.
def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (if length > 20 then (.[20:23] | tonumber) else 0 end);
if .type == "track" and .event != null then
  {kind: "custom", key: .event,
   contextKeys: ((if .anonymousId != null then {unauthenticatedUser: .anonymousId} else {} end)
                 + {user: (if .userId != null then .userId else .anonymousId end)}),
   creationDate: (.timestamp | ms)}
  + (if .properties.revenue != null then {metricValue: .properties.revenue}
     elif .properties.value != null then {metricValue: .properties.value} else {} end)
  + {data: (.properties // {})}
elif (.type == "identify" or .type == "alias") and .userId != null then
  {kind: "alias", key: .userId,
   previousKey: (if .previousId != null then .previousId else .anonymousId end),
   contextKind: "user", previousContextKind: "anonymousUser", creationDate: (.timestamp | ms)}
else empty end
