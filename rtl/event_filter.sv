// SPDX-License-Identifier: Apache-2.0
// Sparsity-aware front end: turns one spike word per position into one event per set bit.

`default_nettype none

module event_filter #(
  parameter int Channels = 64,  // channels per spike word, 1 .. 512
  parameter int PosW     = 10,  // bits of the spatial position tag, >= 1
  localparam int ChW = (Channels > 1) ? $clog2(Channels) : 1
) (
  input  wire logic                clk_i,
  input  wire logic                rst_i,    // synchronous, active high; drops the held word
  // Spike words: bit c is the spike of channel c at position word_pos_i
  input  wire logic                word_valid_i,
  output logic                     word_ready_o,
  input  wire logic [Channels-1:0] word_i,
  input  wire logic [PosW-1:0]     word_pos_i,
  // Events, lowest channel first; ev_last_o marks the final event of a word
  output logic                     ev_valid_o,
  input  wire logic                ev_ready_i,
  output logic      [ChW-1:0]      ev_ch_o,
  output logic      [PosW-1:0]     ev_pos_o,
  output logic                     ev_last_o
);

  // The held word shrinks by its lowest set bit on every accepted event. A new word is taken
  // in the same cycle as the last event of the previous one, so dense words stream at one event
  // per cycle and an all-zero word is consumed in one cycle without producing anything.
  logic [Channels-1:0] bits_q;
  logic [PosW-1:0]     pos_q;
  logic                busy_q;

  logic [Channels-1:0] rest;   // held bits without the lowest set one
  logic [ChW-1:0]      low_idx;
  logic                ev_fire, take_word;

  assign rest      = bits_q & (bits_q - 1'b1);
  assign ev_valid_o = busy_q;
  assign ev_last_o  = (rest == '0);
  assign ev_fire    = ev_valid_o & ev_ready_i;
  assign word_ready_o = ~busy_q | (ev_fire & ev_last_o);
  assign take_word  = word_valid_i & word_ready_o;

  // Lowest set bit as an index: the scan runs from the top so the lowest hit wins.
  always_comb begin
    low_idx = '0;
    for (int c = Channels - 1; c >= 0; c--) begin
      if (bits_q[c]) low_idx = ChW'($unsigned(c));
    end
  end

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      busy_q <= 1'b0;
    end else if (take_word) begin
      busy_q <= (word_i != '0);
    end else if (ev_fire && ev_last_o) begin
      busy_q <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (take_word) begin
      bits_q <= word_i;
      pos_q  <= word_pos_i;
    end else if (ev_fire) begin
      bits_q <= rest;
    end
  end

  assign ev_ch_o  = low_idx;
  assign ev_pos_o = pos_q;

`ifndef SYNTHESIS
  initial begin
    if (Channels < 1 || Channels > 512) begin
      $fatal(1, "event_filter: Channels must be 1..512, got %0d", Channels);
    end
    if (PosW < 1) $fatal(1, "event_filter: PosW must be >= 1, got %0d", PosW);
  end

  always @(posedge clk_i) begin
    if (!rst_i && busy_q) begin
      assert (bits_q != '0) else $fatal(1, "event_filter: busy with an empty word");
    end
  end
`endif

endmodule : event_filter

`default_nettype wire
