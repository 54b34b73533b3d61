-- The room's dead seats go and those left are told; returns {live, gone} as sweep's.
local live, gone = sweep()
return {live, gone}
