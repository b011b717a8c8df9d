-- Realtime audio (issue 18 item 4): audio input and output tokens at their own prices. NULL: the model has no audio
-- price, and the realtime route refuses audio for it.
ALTER TABLE prices ADD COLUMN audio_input_per_million BIGINT;
ALTER TABLE prices ADD COLUMN audio_output_per_million BIGINT;
