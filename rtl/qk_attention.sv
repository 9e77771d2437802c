// SPDX-License-Identifier: Apache-2.0
// On-the-fly QK token/channel attention on the spike write-back stream: Q builds masks, K is masked.

`default_nettype none

module qk_attention #(
  parameter int Channels = 64,  // channels per spike word, 1 .. 512
  parameter int PosW     = 10,  // bits of the position tag; the map has at most 2**PosW positions
  parameter int MaxHeads = 8,   // most token-attention heads, 1 .. 8
  parameter int AnyHeads = 1,   // 1: any head count dividing Channels; 0: powers of two only
                                // (cheaper: the heads share MaxHeads group popcounts)
  localparam int ChW   = $clog2(Channels + 1),  // bits of a per-position spike sum, 0 .. Channels
  localparam int HeadW = (MaxHeads > 1) ? $clog2(MaxHeads) : 1
) (
  input  wire logic                clk_i,
  input  wire logic                rst_i,   // synchronous, active high; forgets every mask
  // Configuration, held stable from a Q map's first word to its K map's last word
  input  wire logic                cfg_channel_i,    // 0: token attention, 1: channel attention
  input  wire logic [3:0]          cfg_heads_i,      // token attention heads, 1 .. MaxHeads
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
  logic [HeadW-1:0]    head_of [Channels];  // head owning each channel under cfg_heads_i
  logic [MaxHeads-1:0] tok_mask;            // mask of the incoming Q word's position
  logic [Channels-1:0] ch_mask, tok_expand;

  assign in_ready_o = ~out_valid_q | out_ready_i;
  assign take       = in_valid_i & in_ready_o;
  assign take_q     = take & (in_role_i == RoleQ);
  assign take_k     = take & (in_role_i == RoleK);

  // Head h owns channels h*C/heads .. (h+1)*C/heads-1, i.e. head(c) = c*heads / C: for a
  // channel c fixed at elaboration this is a table of constants selected by heads (no divider).
  function automatic logic [HeadW-1:0] head_id(input int c, input logic [3:0] heads);
    logic [HeadW-1:0] id;
    id = '0;
    for (int h = 1; h <= MaxHeads; h++) begin
      if (heads == 4'($unsigned(h))) id = HeadW'($unsigned((c * h) / Channels));
    end
    return id;
  endfunction

  function automatic logic [ChW-1:0] popcount(input logic [Channels-1:0] v);
    logic [ChW-1:0] n;
    n = '0;
    for (int c = 0; c < Channels; c++) n = n + ChW'(v[c]);
    return n;
  endfunction

  function automatic logic [MaxHeads-1:0] pow2_mask(input logic [MaxHeads*ChW-1:0] groups,
                                                    input logic [3:0] heads,
                                                    input logic [ChW-1:0] theta);
    logic [MaxHeads*ChW-1:0] lv;
    logic [MaxHeads-1:0]     m;
    int                      n;
    lv = groups;
    m  = '0;
    n  = MaxHeads;
    for (int h = 0; h < MaxHeads; h++) begin
      if (heads == 4'($unsigned(n))) m[h] = (lv[h*ChW+:ChW] >= theta);
    end
    while (n > 1) begin
      n = n / 2;
      // In place: entry h reads entries 2h and 2h+1, which no lower h has overwritten.
      for (int h = 0; h < n; h++) begin
        lv[h*ChW+:ChW] = lv[2*h*ChW+:ChW] + lv[(2*h+1)*ChW+:ChW];
        if (heads == 4'($unsigned(n))) m[h] = (lv[h*ChW+:ChW] >= theta);
      end
    end
    return m;
  endfunction

  for (genvar c = 0; c < Channels; c++) begin : g_head
    assign head_of[c] = head_id(c, cfg_heads_i);
  end

  // Mask bit per head for the incoming Q word: the head's spike count reaches theta_tok.
  if (AnyHeads != 0) begin : g_any_heads
    // One masked popcount over the whole word per head.
    for (genvar h = 0; h < MaxHeads; h++) begin : g_tok
      logic [Channels-1:0] own;  // channels of head h
      for (genvar c = 0; c < Channels; c++) begin : g_own
        assign own[c] = (head_of[c] == HeadW'($unsigned(h)));
      end
      assign tok_mask[h] = (popcount(in_word_i & own) >= cfg_theta_tok_i);
    end
  end else begin : g_pow2_heads
    // MaxHeads groups of Channels/MaxHeads channels; with heads = MaxHeads >> l a head is 2**l
    // adjacent groups, so the sums of fewer heads come from a tree of pairwise additions.
    localparam int Group = Channels / MaxHeads;
    logic [MaxHeads*ChW-1:0] group_sum;
    for (genvar j = 0; j < MaxHeads; j++) begin : g_group
      assign group_sum[j*ChW+:ChW] = popcount({{(Channels - Group){1'b0}},
                                               in_word_i[j*Group+:Group]});
    end
    assign tok_mask = pow2_mask(group_sum, cfg_heads_i, cfg_theta_tok_i);
  end

  always_comb begin
    for (int c = 0; c < Channels; c++) begin
      ch_mask[c]    = (ch_cnt_q[c] >= cfg_theta_ch_i);
      tok_expand[c] = tok_rd_q[head_of[c]];
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
    for (int c = 0; c < Channels; c++) begin
      if (take_q && cfg_channel_i) begin
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
    if (AnyHeads == 0 && ((MaxHeads & (MaxHeads - 1)) != 0 || Channels % MaxHeads != 0)) begin
      $fatal(1, "qk_attention: AnyHeads=0 needs a power-of-two MaxHeads dividing Channels");
    end
  end

  // From a Q map's first word to its K map's last word the configuration must not move: heads
  // and theta_tok act while Q passes, heads and theta_ch while K passes.
  logic                attn_busy;
  logic [4+ChW+PosW+1:0] cfg_map, cfg_now;
  assign cfg_now = {cfg_channel_i, cfg_heads_i, cfg_theta_tok_i, cfg_theta_ch_i};
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
                && Channels % 32'($signed({1'b0, cfg_heads_i})) == 0)
          else $fatal(1, "qk_attention: %0d heads do not split %0d channels (at most %0d heads)",
                      cfg_heads_i, Channels, MaxHeads);
        assert (AnyHeads != 0 || (cfg_heads_i & (cfg_heads_i - 4'd1)) == 4'd0)
          else $fatal(1, "qk_attention: %0d heads, but only powers of two are built", cfg_heads_i);
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
