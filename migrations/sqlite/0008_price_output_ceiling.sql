-- A model's output ceiling (tokens): the most one answer may hold money for and ask the upstream to generate.
-- NULL = the process's --default-max-output-tokens (issue 15: no request makes the upstream generate more than
-- the account can pay).
ALTER TABLE prices ADD COLUMN max_output_tokens BIGINT;
