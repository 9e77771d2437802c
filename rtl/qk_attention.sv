// SPDX-License-Identifier: Apache-2.0
// On-the-fly QK token/channel attention on the spike write-back stream: Q builds masks, K is masked.

`default_nettype none

module qk_attention #(
  parameter int Channels = 64,  // channels per spike word, 1 .. 512
  parameter int PosW     = 10,  // bits of the position tag; the map has at most 2**PosW positions
  parameter int MaxHeads = 8,   // most token-attention heads, 1 .. 8
  localparam int ChW   = $clog2(Channels + 1)   // bits of a per-position spike sum, 0 .. Channels
) (
  input  wire logic                clk_i,
  input  wire logic                rst_i,   // synchronous, active high; forgets every mask
  // Configuration, held stable from a Q map's first word to its K map's last word
  input  wire logic                cfg_channel_i,    // 0: token attention, 1: channel attention
  input  wire logic [3:0]          cfg_heads_i,      // token attention heads, 1 .. MaxHeads
  input  wire logic [ChW-1:0]      cfg_group_i,      // channels per head, heads*group <= Channels
  input  wire logic [ChW-1:0]      cfg_theta_tok_i,  // mask[h,n] = head sum >= theta_tok
  input  wire logic [PosW:0]       cfg_theta_ch_i,   // mask[c] = spikes over the map >= theta_ch
  // Spike words as written back; role 0: other maps (passed on), 1: Q, 2: K
  input  wire logic                in_valid_i,
  output logic                     in_ready_o,
  input  wire logic [Channels-1:0] in_word_i,
  input  wire logic [PosW-1:0]     in_pos_i,
  input  wire logic [1:0]          in_role_i,
  input  wire logic                in_last_i,   // last word of its map
  // The same words one cycle later; K words come out ANDed with the mask of their position
  output logic                     out_valid_o,
  input  wire logic                out_ready_i,
  output logic      [Channels-1:0] out_word_o,
  output logic      [PosW-1:0]     out_pos_o,
  output logic      [1:0]          out_role_o,
  output logic                     out_last_o
);

  localparam logic [1:0] RoleQ = 2'd1, RoleK = 2'd2;
  localparam int Positions = 1 << PosW;

  // Token masks: one word of head bits per position, written while Q passes, read while K
  // passes (a BRAM with a registered read: the read data joins the word in the output stage).
  logic [MaxHeads-1:0] tok_mem [Positions];
  logic [MaxHeads-1:0] tok_rd_q;
  // Channel attention: Q spikes per channel over the whole map.
  logic [PosW:0]       ch_cnt_q [Channels];
  logic                q_first_q;  // the next Q word starts a new map
  logic                q_done_q;   // a complete Q map has been seen (for the checks only)

  logic                out_valid_q, tok_and_q, out_last_q;
  logic [Channels-1:0] out_word_q;
  logic [PosW-1:0]     out_pos_q;
  logic [1:0]          out_role_q;

  logic                take, take_q, take_k;
  logic [MaxHeads-1:0] tok_mask;            // mask of the incoming Q word's position
  logic [Channels-1:0] ch_mask, tok_expand;

  assign in_ready_o = ~out_valid_q | out_ready_i;
  assign take       = in_valid_i & in_ready_o;
  assign take_q     = take & (in_role_i == RoleQ);
  assign take_k     = take & (in_role_i == RoleK);

  function automatic logic [ChW-1:0] popcount(input logic [Channels-1:0] v);
    logic [ChW-1:0] n;
    n = '0;
    for (int c = 0; c < Channels; c++) n = n + ChW'(v[c]);
    return n;
  endfunction

  // Head h owns channels h*group .. (h+1)*group-1, where group = C/heads for the map's channel
  // count C, which varies by layer. The boundaries come from a chain of adders (no multiplier or
  // divider); channels from heads*group up belong to no head, so their K bits are cleared.
  logic [ChW+3:0] bound [MaxHeads+1];
  assign bound[0] = '0;
  for (genvar h = 1; h <= MaxHeads; h++) begin : g_bound
    assign bound[h] = bound[h-1] + (ChW+4)'(cfg_group_i);
  end

  logic [Channels-1:0] own [MaxHeads];    // channels of head h under the configuration
  logic [MaxHeads-1:0] owner [Channels];  // the same bits by channel: one-hot or zero
  for (genvar h = 0; h < MaxHeads; h++) begin : g_own
    logic used;
    assign used = (cfg_heads_i > 4'($unsigned(h)));
    for (genvar c = 0; c < Channels; c++) begin : g_ch
      assign owner[c][h] = used & ((ChW+4)'($unsigned(c)) >= bound[h])
                         & ((ChW+4)'($unsigned(c)) < bound[h+1]);
      assign own[h][c] = owner[c][h];
    end
  end

  // Mask bit per head for the incoming Q word: the head's spike count reaches theta_tok.
  for (genvar h = 0; h < MaxHeads; h++) begin : g_tok
    assign tok_mask[h] = (popcount(in_word_i & own[h]) >= cfg_theta_tok_i);
  end

  always_comb begin
    for (int c = 0; c < Channels; c++) begin
      ch_mask[c]    = (ch_cnt_q[c] >= cfg_theta_ch_i);
      tok_expand[c] = |(tok_rd_q & owner[c]);  // zero for channels of no head
    end
  end

  always_ff @(posedge clk_i) begin
    if (take_q && !cfg_channel_i) begin
      tok_mem[in_pos_i] <= tok_mask;
    end
    if (take_k) begin
      tok_rd_q <= tok_mem[in_pos_i];
    end
  end

  always_ff @(posedge clk_i) begin
    if (take_q && cfg_channel_i) begin
      for (int c = 0; c < Channels; c++) begin
        ch_cnt_q[c] <= (q_first_q ? '0 : ch_cnt_q[c]) + (PosW + 1)'(in_word_i[c]);
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      out_valid_q <= 1'b0;
      q_first_q   <= 1'b1;
      q_done_q    <= 1'b0;
    end else begin
      if (take) begin
        out_valid_q <= 1'b1;
      end else if (out_ready_i) begin
        out_valid_q <= 1'b0;
      end
      if (take_q) begin
        q_first_q <= in_last_i;
        q_done_q  <= in_last_i;
      end
    end
  end

  // Payload of the output stage; channel masks apply on the way in, token masks on the way out
  // (their memory read completes in the same clock edge that loads the stage).
  always_ff @(posedge clk_i) begin
    if (take) begin
      out_word_q <= (take_k && cfg_channel_i) ? (in_word_i & ch_mask) : in_word_i;
      out_pos_q  <= in_pos_i;
      out_role_q <= in_role_i;
      out_last_q <= in_last_i;
      tok_and_q  <= take_k & ~cfg_channel_i;
    end
  end

  assign out_valid_o = out_valid_q;
  assign out_word_o  = tok_and_q ? (out_word_q & tok_expand) : out_word_q;
  assign out_pos_o   = out_pos_q;
  assign out_role_o  = out_role_q;
  assign out_last_o  = out_last_q;

`ifndef SYNTHESIS
  initial begin
    if (Channels < 1 || Channels > 512) begin
      $fatal(1, "qk_attention: Channels must be 1..512, got %0d", Channels);
    end
    if (PosW < 1 || PosW > 16) $fatal(1, "qk_attention: PosW must be 1..16, got %0d", PosW);
    if (MaxHeads < 1 || MaxHeads > 8) begin
      $fatal(1, "qk_attention: MaxHeads must be 1..8, got %0d", MaxHeads);
    end
  end

  // From a Q map's first word to its K map's last word the configuration must not move: heads
  // and theta_tok act while Q passes, heads and theta_ch while K passes.
  logic                attn_busy;
  logic [4+2*ChW+PosW+1:0] cfg_map, cfg_now;
  assign cfg_now = {cfg_channel_i, cfg_heads_i, cfg_group_i, cfg_theta_tok_i, cfg_theta_ch_i};
  always @(posedge clk_i) begin
    if (rst_i) begin
      attn_busy <= 1'b0;
    end else begin
      if (attn_busy) begin
        assert (cfg_now == cfg_map)
          else $fatal(1, "qk_attention: configuration changed between a Q map and its K map");
      end
      if (take_q && !attn_busy) begin
        attn_busy <= 1'b1;
        cfg_map   <= cfg_now;
      end else if (take_k && in_last_i) begin
        attn_busy <= 1'b0;
      end
    end
  end

  always @(posedge clk_i) begin
    if (!rst_i && take) begin
      assert (in_role_i != 2'd3) else $fatal(1, "qk_attention: word with the undefined role 3");
      if ((take_q || take_k) && !cfg_channel_i) begin
        assert (cfg_heads_i >= 4'd1 && 32'($signed({1'b0, cfg_heads_i})) <= MaxHeads
                && cfg_group_i != '0 && 32'(bound[cfg_heads_i]) <= $unsigned(Channels))
          else $fatal(1, "qk_attention: %0d heads of %0d channels exceed %0d channels or %0d heads",
                      cfg_heads_i, cfg_group_i, Channels, MaxHeads);
      end
      if (take_k) begin
        assert (q_done_q) else $fatal(1, "qk_attention: K word before a complete Q map");
      end
      if (take_q && cfg_channel_i) begin
        for (int c = 0; c < Channels; c++) begin
          assert (q_first_q || !in_word_i[c] || ch_cnt_q[c] != '1)
            else $fatal(1, "qk_attention: channel %0d spike count overflows", c);
        end
      end
    end
  end
`endif

endmodule : qk_attention

`default_nettype wire
