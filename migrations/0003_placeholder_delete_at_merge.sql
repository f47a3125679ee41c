-- Placeholder so that 0004_roles applies on the h18 branch alone (versions must have no gaps).
-- Version 3 belongs to another branch: delete this file when merging that branch's 0003.
SELECT 1;
