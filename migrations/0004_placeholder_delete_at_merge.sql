-- Placeholder so that 0005_write_safety applies on the h10 branch alone (versions must have no gaps).
-- Version 4 belongs to another branch: delete this file when merging that branch's 0004.
SELECT 1;
